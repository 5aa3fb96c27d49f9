"""AWS's public SSM parameters for the ECS-optimized AMI, as the cluster template reads them."""

import json

import pytest
from botocore.exceptions import ClientError

PREFIX = "/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended"


def test_image_id_names_an_existing_ecs_optimized_image(client):
    ami = client("ssm").get_parameter(Name=f"{PREFIX}/image_id")["Parameter"]["Value"]
    [image] = client("ec2").describe_images(ImageIds=[ami])["Images"]
    assert image["Architecture"] == "x86_64" and "ecs" in image["Name"]


def test_recommended_document_is_a_json_string(client):
    # Regression: moto served the document as a JSON object, not the string SSM's API defines.
    ssm = client("ssm")
    value = ssm.get_parameter(Name=PREFIX)["Parameter"]["Value"]
    assert isinstance(value, str)
    assert json.loads(value)["image_id"] == ssm.get_parameter(Name=f"{PREFIX}/image_id")["Parameter"]["Value"]


def test_public_parameters_are_read_only(client):
    with pytest.raises(ClientError) as e:
        client("ssm").put_parameter(Name=f"{PREFIX}/image_id", Value="ami-12c6146b", Type="String", Overwrite=True)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
