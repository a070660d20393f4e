terraform {
  # 1.7 brings mock_provider for `terraform test`; 1.10 brings S3-native state locking (use_lockfile).
  required_version = ">= 1.10.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.x is what the offline mirror and .terraform.lock.hcl carry; 6.0 changes aws_ami/owner rules.
      version = ">= 5.100.0, < 6.0.0"
    }
  }
}
