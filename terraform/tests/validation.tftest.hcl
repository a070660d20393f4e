# Bad input is rejected before anything is created, with a message that says what to fix.
# The mocked provider stands in for AWS (see module.tftest.hcl).

# Mock values shared by every test file: tests/mocks/aws.tfmock.hcl.
mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  admin_ssh_public_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGqng2l/04WI+oqUEN1DnCHM433GJEl2KNjkrNvhafCo test-discarded"]
  # Test fixture, not a real release: the sha256 of an empty file.
  ssm_agent               = { version = "3.3.0.0", sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }
  environment             = "prod"
  region                  = "ap-northeast-2"
  wireguard_ingress_cidrs = ["0.0.0.0/0"]
  wireguard_operator_peers = [
    { name = "alice", public_key = "dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=", address = "10.100.0.200" },
  ]
}

run "x86_instance_type_with_arm64_ami_is_rejected" {
  command = plan

  variables {
    instance_type = "t3.small"
  }

  # What DescribeInstanceTypes returns for t3.small.
  override_data {
    target = data.aws_ec2_instance_type.selected
    values = {
      supported_architectures = ["x86_64"]
    }
  }

  expect_failures = [aws_instance.monitoring]
}

run "arm64_instance_type_with_x86_ami_is_rejected" {
  command = plan

  variables {
    ami_id = "ami-0fedcba9876543210"
  }

  override_data {
    target = data.aws_ami.selected
    values = {
      id           = "ami-0fedcba9876543210"
      name         = "debian-12-amd64-20260101-0000"
      architecture = "x86_64"
    }
  }

  expect_failures = [aws_instance.monitoring]
}

run "invalid_ingress_cidr_is_rejected" {
  command = plan

  variables {
    wireguard_ingress_cidrs = ["203.0.113.300/32"]
  }

  expect_failures = [var.wireguard_ingress_cidrs]
}

run "empty_ingress_list_is_rejected" {
  command = plan

  variables {
    wireguard_ingress_cidrs = []
  }

  expect_failures = [var.wireguard_ingress_cidrs]
}

run "empty_operator_key_is_rejected" {
  command = plan

  variables {
    wireguard_operator_peers = [{ name = "alice", public_key = "", address = "10.100.0.200" }]
  }

  expect_failures = [var.wireguard_operator_peers]
}

run "private_key_shaped_garbage_is_rejected" {
  command = plan

  variables {
    wireguard_operator_peers = [{ name = "alice", public_key = "not-a-key", address = "10.100.0.200" }]
  }

  expect_failures = [var.wireguard_operator_peers]
}

run "no_operator_peer_is_rejected" {
  command = plan

  variables {
    wireguard_operator_peers = []
  }

  expect_failures = [var.wireguard_operator_peers]
}

run "peer_outside_tunnel_network_is_rejected" {
  command = plan

  variables {
    wireguard_operator_peers = [{ name = "alice", public_key = "dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=", address = "10.200.0.5" }]
  }

  expect_failures = [aws_instance.monitoring]
}

run "peer_reusing_the_server_address_is_rejected" {
  command = plan

  variables {
    wireguard_operator_peers = [{ name = "alice", public_key = "dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=", address = "10.100.0.1" }]
  }

  expect_failures = [aws_instance.monitoring]
}

run "all_protocol_egress_is_rejected" {
  command = plan

  variables {
    egress_rules = [{ description = "everything", protocol = "-1", from_port = 0, to_port = 0, cidr_blocks = ["0.0.0.0/0"] }]
  }

  expect_failures = [var.egress_rules]
}

run "subnet_outside_vpc_is_rejected" {
  command = plan

  variables {
    vpc_cidr    = "10.60.0.0/24"
    subnet_cidr = "10.61.0.0/26"
  }

  expect_failures = [aws_subnet.public]
}

run "subnet_without_vpc_is_rejected" {
  command = plan

  variables {
    subnet_id = "subnet-0aaaabbbbccccdddd"
  }

  expect_failures = [aws_vpc.this]
}

run "unknown_environment_is_rejected" {
  command = plan

  variables {
    environment = "staging"
  }

  expect_failures = [var.environment]
}

run "no_admin_ssh_key_is_rejected" {
  command = plan

  variables {
    admin_ssh_public_keys = []
  }

  expect_failures = [var.admin_ssh_public_keys]
}

run "private_key_instead_of_public_key_is_rejected" {
  command = plan

  variables {
    admin_ssh_public_keys = ["-----BEGIN OPENSSH PRIVATE KEY-----"]
  }

  expect_failures = [var.admin_ssh_public_keys]
}

run "ssm_agent_latest_is_rejected" {
  command = plan

  variables {
    ssm_agent = { version = "latest", sha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" }
  }

  expect_failures = [var.ssm_agent]
}

run "ssm_agent_without_sha256_is_rejected" {
  command = plan

  variables {
    ssm_agent = { version = "3.3.0.0", sha256 = "" }
  }

  expect_failures = [var.ssm_agent]
}

