# A deliberately small network: one VPC, one public subnet, an internet gateway and a default
# route. With vpc_id/subnet_id set, nothing here is created and the existing subnet is used.

data "aws_availability_zones" "available" {
  count = local.create_vpc && var.availability_zone == null ? 1 : 0
  state = "available"
}

data "aws_subnet" "existing" {
  count = local.create_vpc ? 0 : 1
  id    = var.subnet_id

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.vpc_id
      error_message = "subnet_id ${var.subnet_id} is not in vpc_id ${coalesce(var.vpc_id, "(null)")}: set both to the same VPC."
    }
  }
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:VPC flow logs cost more than this one-instance VPC is worth; the security group admits a single UDP port and WireGuard drops unauthenticated packets.
  count                = local.create_vpc ? 1 : 0
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = local.prefix }

  lifecycle {
    precondition {
      condition     = var.subnet_id == null
      error_message = "subnet_id is set but vpc_id is null: set vpc_id too to use an existing network, or unset subnet_id to create one."
    }
  }
}

# Manage the VPC's default security group only to strip its rules: nothing should ever land in a
# group that allows all traffic between its members.
resource "aws_default_security_group" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id

  tags = { Name = "${local.prefix}-default-unused" }
}

resource "aws_internet_gateway" "this" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id

  tags = { Name = local.prefix }
}

resource "aws_subnet" "public" {
  count             = local.create_vpc ? 1 : 0
  vpc_id            = aws_vpc.this[0].id
  cidr_block        = var.subnet_cidr
  availability_zone = coalesce(var.availability_zone, try(data.aws_availability_zones.available[0].names[0], null))
  # The instance asks for its own public address (see compute.tf); nothing else launches here.
  map_public_ip_on_launch = false

  tags = { Name = "${local.prefix}-public" }

  lifecycle {
    precondition {
      condition = (
        tonumber(split("/", var.subnet_cidr)[1]) >= tonumber(split("/", var.vpc_cidr)[1]) &&
        cidrhost("${split("/", var.subnet_cidr)[0]}/${split("/", var.vpc_cidr)[1]}", 0) == cidrhost(var.vpc_cidr, 0)
      )
      error_message = "subnet_cidr ${var.subnet_cidr} must lie inside vpc_cidr ${var.vpc_cidr}."
    }
  }
}

resource "aws_route_table" "public" {
  count  = local.create_vpc ? 1 : 0
  vpc_id = aws_vpc.this[0].id

  route {
    cidr_block = "0.0.0.0/0"
    gateway_id = aws_internet_gateway.this[0].id
  }

  tags = { Name = "${local.prefix}-public" }
}

resource "aws_route_table_association" "public" {
  count          = local.create_vpc ? 1 : 0
  subnet_id      = aws_subnet.public[0].id
  route_table_id = aws_route_table.public[0].id
}
