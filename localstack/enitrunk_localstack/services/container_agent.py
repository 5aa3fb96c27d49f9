"""What the ECS container agent on an instance knows and reports, as the developer guide describes
it: pure logic for `ecs_agent` (no LocalStack imports; unit tested in
`tests/test_container_agent_unit.py`).

- Configuration: the agent reads `/etc/ecs/ecs.config`, which user data writes
  (`echo ECS_CLUSTER=name >> /etc/ecs/ecs.config`); without `ECS_CLUSTER` it joins the cluster
  `default` (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-agent-config.html:
  "ECS_CLUSTER ... Default value on Linux: default"). Here the user data (base64, optionally
  gzip) is read for the agent's `ECS_*` variables wherever it assigns them: `echo` lines, heredocs
  and cloud-init parts alike; the last assignment wins, as in the file `>>` appends to.
- Which instances run it: those launched from an ECS-optimized AMI, known from the public SSM
  parameters `/aws/service/ecs/optimized-ami/...` (moto's copy, which names each image with its
  agent version and operating system).
- What it registers: CPU (1,024 units per vCPU) and memory of the instance type
  (`instance_types`), the reserved ports, its version, and its capabilities. Trunking needs agent
  1.28.1 or later on Linux ("Only Linux variants of the Amazon ECS-optimized AMI, or other Amazon
  Linux variants with version 1.28.1 or later of the container agent ... support the increased
  ENI limits", container-instance-eni.md), reported as `ecs.capability.task-eni-trunking`.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import hashlib
import re
from dataclasses import dataclass

DEFAULT_CLUSTER = "default"
TRUNKING_MIN_AGENT = (1, 28, 1)

# `KEY=value`, `KEY="value"` or `KEY='value'` for the agent's variables, wherever user data writes them.
_ASSIGNMENT = re.compile(r"""\b(ECS_[A-Z0-9_]+)=(?:"([^"]*)"|'([^']*)'|([^\s"';&|<>]*))""")

# The ports the agent reserves on every Linux instance (SSH, Docker, the agent's own).
RESERVED_PORTS = ["22", "2375", "2376", "51678", "51679"]

# Capabilities of a current Linux agent (attribute names from the developer guide's task definition
# requirements); the trunking capability is added only from 1.28.1.
LINUX_CAPABILITIES = [
    "com.amazonaws.ecs.capability.privileged-container",
    "com.amazonaws.ecs.capability.docker-remote-api.1.17",
    "com.amazonaws.ecs.capability.docker-remote-api.1.18",
    "com.amazonaws.ecs.capability.docker-remote-api.1.19",
    "com.amazonaws.ecs.capability.docker-remote-api.1.20",
    "com.amazonaws.ecs.capability.docker-remote-api.1.21",
    "com.amazonaws.ecs.capability.docker-remote-api.1.22",
    "com.amazonaws.ecs.capability.docker-remote-api.1.23",
    "com.amazonaws.ecs.capability.docker-remote-api.1.24",
    "com.amazonaws.ecs.capability.logging-driver.json-file",
    "com.amazonaws.ecs.capability.logging-driver.awslogs",
    "com.amazonaws.ecs.capability.logging-driver.none",
    "com.amazonaws.ecs.capability.ecr-auth",
    "com.amazonaws.ecs.capability.task-iam-role",
    "com.amazonaws.ecs.capability.task-iam-role-network-host",
    "ecs.capability.execution-role-ecr-pull",
    "ecs.capability.execution-role-awslogs",
    "ecs.capability.container-health-check",
    "ecs.capability.task-eni",
]
TRUNKING_CAPABILITY = "ecs.capability.task-eni-trunking"
TASK_ENI_CAPABILITY = "ecs.capability.task-eni"


def decode_user_data(user_data: str | bytes | None) -> str:
    """User data as the instance sees it: base64 decoded, gunzipped when compressed."""
    if not user_data:
        return ""
    raw = user_data.encode() if isinstance(user_data, str) else bytes(user_data)
    try:
        raw = base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError):
        pass  # not base64: the text itself
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8", errors="replace")


def agent_config(user_data: str | bytes | None) -> dict[str, str]:
    """The `ECS_*` variables user data writes for the agent; later assignments win."""
    config: dict[str, str] = {}
    for match in _ASSIGNMENT.finditer(decode_user_data(user_data)):
        key, *values = match.groups()
        config[key] = next((v for v in values if v is not None), "")
    return config


def cluster_of(config: dict[str, str]) -> str:
    return config.get("ECS_CLUSTER") or DEFAULT_CLUSTER


def version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


@dataclass(frozen=True)
class AgentImage:
    """An ECS-optimized AMI: the agent it ships and the platform it runs on."""

    image_id: str
    agent_version: str
    docker_version: str
    os_type: str  # linux | windows
    architecture: str  # x86_64 | arm64

    @property
    def supports_trunking(self) -> bool:
        return self.os_type == "linux" and version_tuple(self.agent_version) >= TRUNKING_MIN_AGENT

    def version_info(self) -> dict[str, str]:
        # The agent reports its commit; a stable stand-in derived from the version.
        agent_hash = hashlib.sha1(self.agent_version.encode()).hexdigest()[:8]
        return {"agentVersion": self.agent_version, "agentHash": agent_hash, "dockerVersion": f"DockerVersion: {self.docker_version}"}

    def capabilities(self) -> list[str]:
        if self.os_type != "linux":
            return ["com.amazonaws.ecs.capability.logging-driver.awslogs", "com.amazonaws.ecs.capability.ecr-auth"]
        return LINUX_CAPABILITIES + ([TRUNKING_CAPABILITY] if self.supports_trunking else [])

    def attributes(self) -> list[dict[str, str]]:
        """What the agent sends with `RegisterContainerInstance`: its capabilities and platform."""
        platform = [
            {"name": "ecs.os-type", "value": self.os_type},
            {"name": "ecs.os-family", "value": "LINUX" if self.os_type == "linux" else "WINDOWS_SERVER"},
            {"name": "ecs.cpu-architecture", "value": self.architecture},
        ]
        return [{"name": name} for name in self.capabilities()] + platform


def ecs_optimized_images(tree: dict) -> dict[str, AgentImage]:
    """The ECS-optimized AMIs in a region's public parameter tree (`/aws/service/ecs/optimized-ami/...`), by image id."""
    images: dict[str, AgentImage] = {}

    def walk(node: dict, path: list[str]) -> None:
        for key, child in node.items():
            if not isinstance(child, dict):
                continue
            value = child.get("Value")
            if isinstance(value, dict) and value.get("image_id"):
                os_name = str(value.get("os", ""))
                runtime = str(value.get("ecs_runtime_version", ""))
                images.setdefault(
                    value["image_id"],
                    AgentImage(
                        image_id=value["image_id"],
                        agent_version=str(value.get("ecs_agent_version", "")),
                        docker_version=runtime.replace("Docker version ", ""),
                        os_type="windows" if os_name.lower().startswith("windows") else "linux",
                        architecture="arm64" if "arm64" in path + [key] else "x86_64",
                    ),
                )
            walk(child, path + [key])

    walk(tree, [])
    return images


def registered_resources(cpu_units: int, memory_mib: int) -> list[dict]:
    """`totalResources` as the agent sends them (and ECS reports them back)."""
    return [
        {"name": "CPU", "type": "INTEGER", "integerValue": cpu_units},
        {"name": "MEMORY", "type": "INTEGER", "integerValue": memory_mib},
        {"name": "PORTS", "type": "STRINGSET", "stringSetValue": list(RESERVED_PORTS)},
        {"name": "PORTS_UDP", "type": "STRINGSET", "stringSetValue": []},
    ]
