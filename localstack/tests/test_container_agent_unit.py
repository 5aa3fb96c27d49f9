"""container_agent on its own: the agent's configuration from user data, the ECS-optimized AMIs it
ships on, and what it reports."""

import base64
import gzip

import pytest

from enitrunk_localstack.services.container_agent import (
    TRUNKING_CAPABILITY,
    AgentImage,
    agent_config,
    cluster_of,
    ecs_optimized_images,
)


def b64(text: str | bytes) -> str:
    return base64.b64encode(text.encode() if isinstance(text, str) else text).decode()


@pytest.mark.parametrize(
    "script",
    [
        "#!/bin/bash\necho ECS_CLUSTER=web >> /etc/ecs/ecs.config\n",
        '#!/bin/bash\necho "ECS_CLUSTER=web" >> /etc/ecs/ecs.config\n',
        "#!/bin/bash\ncat <<'EOF' >> /etc/ecs/ecs.config\nECS_CLUSTER=web\nECS_ENABLE_TASK_IAM_ROLE=true\nEOF\n",
        "#!/bin/bash\necho ECS_CLUSTER=old >> /etc/ecs/ecs.config\necho ECS_CLUSTER=web >> /etc/ecs/ecs.config\n",
    ],
)
def test_the_cluster_comes_from_the_user_data(script):
    assert cluster_of(agent_config(b64(script))) == "web"


def test_gzipped_user_data_is_read():
    assert cluster_of(agent_config(b64(gzip.compress(b"echo ECS_CLUSTER=zipped >> /etc/ecs/ecs.config")))) == "zipped"


@pytest.mark.parametrize("user_data", [None, "", b64("#!/bin/bash\nyum install -y htop\n")])
def test_without_ecs_cluster_the_agent_joins_default(user_data):
    assert cluster_of(agent_config(user_data)) == "default"


TREE = {
    "amazon-linux-2023": {
        "recommended": {"Value": {"image_id": "ami-al2023", "ecs_agent_version": "1.102.0", "ecs_runtime_version": "Docker version 25.0.14", "os": "Amazon Linux 2023"}},
        "arm64": {"recommended": {"Value": {"image_id": "ami-arm", "ecs_agent_version": "1.102.0", "os": "Amazon Linux 2023"}}},
    },
    "amazon-linux": {"ami-old": {"Value": {"image_id": "ami-old", "ecs_agent_version": "1.21.0", "os": "Amazon Linux"}}},
    "windows_server": {"2019": {"recommended": {"Value": {"image_id": "ami-win", "ecs_agent_version": "1.27.0", "os": "Windows_Server-2019-English-Full"}}}},
}


def test_ecs_optimized_images_name_their_agent_and_platform():
    images = ecs_optimized_images(TREE)
    assert images["ami-al2023"] == AgentImage("ami-al2023", "1.102.0", "25.0.14", "linux", "x86_64")
    assert images["ami-arm"].architecture == "arm64"
    assert images["ami-win"].os_type == "windows"
    assert "ami-12c6146b" not in images


def test_trunking_needs_a_linux_agent_1_28_1_or_later():
    images = ecs_optimized_images(TREE)
    assert TRUNKING_CAPABILITY in images["ami-al2023"].capabilities()
    assert TRUNKING_CAPABILITY not in images["ami-old"].capabilities()
    assert TRUNKING_CAPABILITY not in images["ami-win"].capabilities()
    assert "ecs.capability.task-eni" in images["ami-old"].capabilities()


def test_the_agent_reports_its_version_and_platform():
    image = ecs_optimized_images(TREE)["ami-al2023"]
    info = image.version_info()
    assert info["agentVersion"] == "1.102.0" and info["dockerVersion"] == "DockerVersion: 25.0.14"
    attributes = {a["name"]: a.get("value") for a in image.attributes()}
    assert attributes["ecs.os-type"] == "linux" and attributes["ecs.cpu-architecture"] == "x86_64"
