"""CloudFormation resource providers for ECS, launch template and Auto Scaling (moto-backed)."""

import yaml

from conftest import outputs, unique, wait_stack


def template(max_size="2", user_data_marker="a", desired="1"):
    return yaml.safe_dump({
        "Resources": {
            "Vpc": {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.42.0.0/16"}},
            "Subnet": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "Vpc"}, "CidrBlock": "10.42.1.0/24", "AvailabilityZone": "us-east-1a"}},
            "TaskSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
                "GroupDescription": "tasks", "VpcId": {"Ref": "Vpc"}}},
            "Cluster": {"Type": "AWS::ECS::Cluster", "Properties": {}},
            "LaunchTemplate": {"Type": "AWS::EC2::LaunchTemplate", "Properties": {"LaunchTemplateData": {
                "ImageId": "ami-12c6146b", "InstanceType": "m5.large",
                "MetadataOptions": {"HttpTokens": "required"},
                "PrivateDnsNameOptions": {"EnableResourceNameDnsARecord": False},
                "UserData": {"Fn::Base64": {"Fn::Sub": "#!/bin/bash\necho ECS_CLUSTER=${Cluster} >> /etc/ecs/ecs.config # " + user_data_marker}},
            }}},
            "Group": {"Type": "AWS::AutoScaling::AutoScalingGroup", "Properties": {
                "MinSize": "0", "MaxSize": max_size, "DesiredCapacity": desired,
                "VPCZoneIdentifier": [{"Ref": "Subnet"}],
                "LaunchTemplate": {"LaunchTemplateId": {"Ref": "LaunchTemplate"},
                                   "Version": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}},
            }},
            "CapacityProvider": {"Type": "AWS::ECS::CapacityProvider", "Properties": {"AutoScalingGroupProvider": {
                "AutoScalingGroupArn": {"Ref": "Group"},
                "ManagedScaling": {"Status": "ENABLED", "TargetCapacity": 100},
                "ManagedTerminationProtection": "DISABLED"}}},
            "Associations": {"Type": "AWS::ECS::ClusterCapacityProviderAssociations", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "CapacityProviders": [{"Ref": "CapacityProvider"}],
                "DefaultCapacityProviderStrategy": [{"CapacityProvider": {"Ref": "CapacityProvider"}, "Weight": 1}]}},
            "TaskDefinition": {"Type": "AWS::ECS::TaskDefinition", "Properties": {
                "NetworkMode": "awsvpc", "RequiresCompatibilities": ["EC2"], "Cpu": "256", "Memory": "512",
                "ContainerDefinitions": [{"Name": "web", "Image": "nginx", "Essential": True,
                                          "PortMappings": [{"ContainerPort": 80}]}]}},
            "Service": {"Type": "AWS::ECS::Service", "DependsOn": "Associations", "Properties": {
                "Cluster": {"Ref": "Cluster"}, "TaskDefinition": {"Ref": "TaskDefinition"}, "DesiredCount": 2,
                "NetworkConfiguration": {"AwsvpcConfiguration": {
                    "Subnets": [{"Ref": "Subnet"}], "SecurityGroups": [{"Fn::GetAtt": ["TaskSecurityGroup", "GroupId"]}]}}}},
        },
        "Outputs": {
            "Cluster": {"Value": {"Ref": "Cluster"}},
            "ClusterArn": {"Value": {"Fn::GetAtt": ["Cluster", "Arn"]}},
            "LaunchTemplate": {"Value": {"Ref": "LaunchTemplate"}},
            "LaunchTemplateVersion": {"Value": {"Fn::GetAtt": ["LaunchTemplate", "LatestVersionNumber"]}},
            "Group": {"Value": {"Ref": "Group"}},
            "CapacityProvider": {"Value": {"Ref": "CapacityProvider"}},
            "TaskDefinition": {"Value": {"Ref": "TaskDefinition"}},
            "Service": {"Value": {"Ref": "Service"}},
            "ServiceName": {"Value": {"Fn::GetAtt": ["Service", "Name"]}},
        },
    })


def test_cluster_stack_create_update_delete(client):
    cfn, ecs, asg, ec2 = client("cloudformation"), client("ecs"), client("autoscaling"), client("ec2")
    name = unique("cluster-stack")
    cfn.create_stack(StackName=name, TemplateBody=template())
    stack = wait_stack(cfn, name)
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    assert stack["StackStatus"] == "CREATE_COMPLETE", [(e["LogicalResourceId"], e.get("ResourceStatusReason")) for e in events]
    out = outputs(stack)

    [cluster] = ecs.describe_clusters(clusters=[out["Cluster"]])["clusters"]
    assert cluster["clusterArn"] == out["ClusterArn"]
    assert cluster["capacityProviders"] == [out["CapacityProvider"]]
    [cp] = ecs.describe_capacity_providers(capacityProviders=[out["CapacityProvider"]])["capacityProviders"]
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[out["Group"]])["AutoScalingGroups"]
    assert cp["autoScalingGroupProvider"]["autoScalingGroupArn"] in (out["Group"], group["AutoScalingGroupARN"])
    assert group["DesiredCapacity"] == 1
    assert group["LaunchTemplate"]["LaunchTemplateId"] == out["LaunchTemplate"]
    assert out["LaunchTemplateVersion"] == "1"
    td = ecs.describe_task_definition(taskDefinition=out["TaskDefinition"])["taskDefinition"]
    assert td["networkMode"] == "awsvpc" and td["containerDefinitions"][0]["portMappings"][0]["containerPort"] == 80
    [svc] = ecs.describe_services(cluster=out["Cluster"], services=[out["Service"]])["services"]
    assert svc["serviceArn"] == out["Service"] and svc["serviceName"] == out["ServiceName"]
    assert svc["desiredCount"] == 2

    # Update: a new launch template version, and the group's sizes (it scales out from the new
    # version; see moto_fixes).
    cfn.update_stack(StackName=name, TemplateBody=template(max_size="3", user_data_marker="b", desired="2"))
    stack = wait_stack(cfn, name)
    assert stack["StackStatus"] == "UPDATE_COMPLETE"
    assert outputs(stack)["LaunchTemplateVersion"] == "2"
    [group] = asg.describe_auto_scaling_groups(AutoScalingGroupNames=[out["Group"]])["AutoScalingGroups"]
    assert group["MaxSize"] == 3 and group["DesiredCapacity"] == 2 and len(group["Instances"]) == 2
    assert group["LaunchTemplate"]["Version"] == "2"

    cfn.delete_stack(StackName=name)
    assert wait_stack(cfn, name)["StackStatus"] == "DELETE_COMPLETE"
    assert asg.describe_auto_scaling_groups(AutoScalingGroupNames=[out["Group"]])["AutoScalingGroups"] == []
    remaining = [t["LaunchTemplateId"] for t in ec2.describe_launch_templates()["LaunchTemplates"]]
    assert out["LaunchTemplate"] not in remaining
    clusters = ecs.describe_clusters(clusters=[out["Cluster"]])["clusters"]
    assert not clusters or clusters[0]["status"] == "INACTIVE"
