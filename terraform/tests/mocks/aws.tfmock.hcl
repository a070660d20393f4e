# AWS as the offline module tests see it: the values data sources and computed attributes return
# under `mock_provider "aws" { source = "./tests/mocks" }` (shared by every *.tftest.hcl).

mock_data "aws_ami" {
  defaults = {
    id           = "ami-0a1b2c3d4e5f60718"
    name         = "debian-12-arm64-20260101-0000"
    architecture = "arm64"
  }
}
mock_data "aws_ec2_instance_type" {
  defaults = {
    supported_architectures = ["arm64"]
  }
}
mock_data "aws_availability_zones" {
  defaults = {
    names = ["ap-northeast-2a", "ap-northeast-2b"]
  }
}
mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
  }
}
mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}
# The mocked provider cannot render policy documents; any valid JSON will do for the plan.
mock_data "aws_iam_policy_document" {
  defaults = {
    json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
  }
}
mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::obs-monitoring-prod-loki-123456789012"
  }
}
mock_resource "aws_ssm_parameter" {
  defaults = {
    arn = "arn:aws:ssm:ap-northeast-2:123456789012:parameter/obs-monitoring/prod/wireguard/public-key"
  }
}
mock_resource "aws_ebs_volume" {
  defaults = {
    id = "vol-0123456789abcdef0"
  }
}
mock_resource "aws_prometheus_workspace" {
  defaults = {
    arn                 = "arn:aws:aps:ap-northeast-2:123456789012:workspace/ws-0123abcd-0123-4567-89ab-0123456789ab"
    prometheus_endpoint = "https://aps-workspaces.ap-northeast-2.amazonaws.com/workspaces/ws-0123abcd-0123-4567-89ab-0123456789ab/"
  }
}
