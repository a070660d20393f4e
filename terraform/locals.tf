locals {
  prefix     = "${var.name}-${var.environment}"
  create_vpc = var.vpc_id == null

  vpc_id    = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  subnet_id = local.create_vpc ? aws_subnet.public[0].id : var.subnet_id
  # The data volume must sit in the instance's zone. Taking the zone from the subnet (never from
  # the instance) keeps the volume out of any plan that replaces the instance.
  availability_zone = local.create_vpc ? aws_subnet.public[0].availability_zone : data.aws_subnet.existing[0].availability_zone

  # The login cloud-init authorizes admin_ssh_public_keys for: the default user of Debian's AMIs.
  # The inventories' ansible_user must be this name (tests/contract/test_terraform_module.py).
  admin_user = "admin"
  # Debian's architecture names for the AMI's (the SSM agent's download path uses them).
  deb_architecture = { arm64 = "arm64", x86_64 = "amd64" }

  wireguard_prefix_length        = split("/", var.wireguard_network)[1]
  wireguard_public_key_parameter = "/${var.name}/${var.environment}/wireguard/public-key"

  # Scale-out (docs/scale-out.md): what each client needs, one list for the role and the checks.
  scale_out_actions = yamldecode(file("${path.module}/scale-out-permissions.yml"))

  loki_bucket_name = var.loki_bucket_enabled ? coalesce(var.loki_bucket_name, "${local.prefix}-loki-${data.aws_caller_identity.current.account_id}") : null
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}
