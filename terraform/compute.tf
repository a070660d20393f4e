# Debian 12 arm64 from the Debian project's own account unless ami_id (or another owner/name
# filter, as the lab does for its emulator) says otherwise.
data "aws_ami" "selected" {
  most_recent = true
  owners      = var.ami_id == null ? var.ami_owners : null

  filter {
    name   = var.ami_id == null ? "name" : "image-id"
    values = [var.ami_id == null ? var.ami_name_filter : var.ami_id]
  }
}

data "aws_ec2_instance_type" "selected" {
  instance_type = var.instance_type
}

locals {
  user_data = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    admin_ssh_public_keys = var.admin_ssh_public_keys
    packages_script = templatefile("${path.module}/templates/packages.sh.tftpl", {
      region    = var.region
      ssm_agent = var.ssm_agent
      deb_arch  = local.deb_architecture[data.aws_ami.selected.architecture]
    })
    data_volume_script = templatefile("${path.module}/templates/data-volume.sh.tftpl", {
      volume_id   = aws_ebs_volume.data.id
      mount_point = var.data_mount_point
    })
    wireguard_script = templatefile("${path.module}/templates/wireguard.sh.tftpl", {
      mount_point = var.data_mount_point
      region      = var.region
      parameter   = local.wireguard_public_key_parameter
    })
    wireguard_config = templatefile("${path.module}/templates/wg0.conf.tftpl", {
      address       = var.wireguard_address
      prefix_length = local.wireguard_prefix_length
      port          = var.wireguard_port
      peers         = var.wireguard_operator_peers
    })
  })
}

resource "aws_instance" "monitoring" {
  #checkov:skip=CKV_AWS_126:detailed CloudWatch monitoring is paid and redundant: the platform's own node metrics are scraped every 15 s.
  ami                    = data.aws_ami.selected.id
  instance_type          = var.instance_type
  subnet_id              = local.subnet_id
  vpc_security_group_ids = [aws_security_group.monitoring.id]
  iam_instance_profile   = aws_iam_instance_profile.monitoring.name
  # associate_public_ip_address stays unset: the created subnet gives no launch-time address,
  # so the Elastic IP (associated seconds after launch; obs-packages waits for it) is the only
  # public address. Setting it, even to false, makes the provider send an explicit network
  # interface spec, for which moto reports no instance-level security groups (perpetual diff).
  ebs_optimized = true
  monitoring    = false
  user_data     = local.user_data
  # A user_data change must never replace the server silently (see ignore_changes below).
  user_data_replace_on_change = false

  metadata_options {
    http_endpoint = "enabled"
    # IMDSv2 only: a stolen-request (SSRF) cannot read the role's credentials with a plain GET.
    http_tokens = "required"
    # 2, not 1: a container on Docker's bridge network is one more network hop away from the
    # metadata service, and Loki/Alloy in containers use the instance role (Loki bucket). With a
    # hop limit of 1 their token request's reply would be dropped.
    http_put_response_hop_limit = 2
    instance_metadata_tags      = "disabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.kms_key_arn
    delete_on_termination = true
  }

  tags = { Name = local.prefix }

  lifecycle {
    # cloud-init only bootstraps (first boot); afterwards Ansible owns the configuration, so a
    # newer AMI or an edited template must not replace the server behind the operator's back.
    # Roll them out deliberately: terraform apply -replace=aws_instance.monitoring
    # (the data volume, Elastic IP and WireGuard key survive; see storage.tf).
    ignore_changes = [ami, user_data]

    precondition {
      condition     = contains(data.aws_ec2_instance_type.selected.supported_architectures, data.aws_ami.selected.architecture)
      error_message = "AMI ${data.aws_ami.selected.id} (${data.aws_ami.selected.name}) is ${data.aws_ami.selected.architecture}, but instance type ${var.instance_type} supports only ${join(", ", data.aws_ec2_instance_type.selected.supported_architectures)}: pick an AMI of that architecture (ami_id / ami_name_filter) or a matching instance type (t4g.* for arm64)."
    }

    precondition {
      condition     = cidrhost("${var.wireguard_address}/${local.wireguard_prefix_length}", 0) == cidrhost(var.wireguard_network, 0)
      error_message = "wireguard_address ${var.wireguard_address} is not inside wireguard_network ${var.wireguard_network}."
    }

    precondition {
      condition     = alltrue([for p in var.wireguard_operator_peers : cidrhost("${p.address}/${local.wireguard_prefix_length}", 0) == cidrhost(var.wireguard_network, 0)])
      error_message = "every wireguard_operator_peers[*].address must lie inside wireguard_network ${var.wireguard_network}."
    }

    precondition {
      condition     = length(distinct(concat([var.wireguard_address], [for p in var.wireguard_operator_peers : p.address]))) == length(var.wireguard_operator_peers) + 1
      error_message = "tunnel addresses must be unique: the server (wireguard_address) and every peer need their own."
    }
  }
}

# The WireGuard endpoint. Its own resource plus a separate association, so replacing the
# instance re-associates the same address and operators' peer configs stay valid.
resource "aws_eip" "monitoring" {
  domain = "vpc"
  tags   = { Name = local.prefix }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_eip_association" "monitoring" {
  allocation_id = aws_eip.monitoring.id
  instance_id   = aws_instance.monitoring.id
}

# ignore_changes keeps an edited user_data from replacing the server; this check keeps it from
# being silent: every plan warns while the running instance booted with different user_data.
# (The AWS provider stores user_data as its SHA-1; the raw text is accepted as well.)
check "user_data_is_current" {
  assert {
    condition     = contains([sha1(local.user_data), local.user_data], aws_instance.monitoring.user_data)
    error_message = "The instance booted with different user_data than the current template renders (e.g. changed wireguard_operator_peers). cloud-init runs only at first boot, so nothing changes by itself: apply peer changes with the wireguard Ansible role, or roll out a new instance deliberately with `terraform apply -replace=aws_instance.monitoring` (the data volume, Elastic IP and WireGuard key survive)."
  }
}
