# The only way in is WireGuard: one ingress rule, UDP on the WireGuard port. No SSH (break-glass
# access is SSM Session Manager, see iam.tf), and no stack port (Grafana 3000, Prometheus 9090,
# Loki 3100): they are published on the tunnel address only.
#
# Rules are inline blocks on purpose: Terraform then owns the complete rule set, so a rule added
# by hand in the console (say, tcp/22 "just for a minute") shows up as drift and is removed by the
# next apply.
resource "aws_security_group" "monitoring" {
  name        = "${local.prefix}-wireguard-only"
  description = "Monitoring server: WireGuard (UDP ${var.wireguard_port}) in, nothing else"
  vpc_id      = local.vpc_id

  ingress {
    description = "WireGuard tunnel; every stack port is reachable only through it"
    protocol    = "udp"
    from_port   = var.wireguard_port
    to_port     = var.wireguard_port
    cidr_blocks = var.wireguard_ingress_cidrs
  }

  dynamic "egress" {
    for_each = var.egress_rules
    content {
      description = egress.value.description
      protocol    = egress.value.protocol
      from_port   = egress.value.from_port
      to_port     = egress.value.to_port
      cidr_blocks = egress.value.cidr_blocks
    }
  }

  tags = { Name = "${local.prefix}-wireguard-only" }
}
