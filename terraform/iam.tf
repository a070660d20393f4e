# The instance role grants exactly three things:
#  - SSM Session Manager: break-glass shell access without opening any port (only when cloud-init
#    installs the SSM agent, var.ssm_agent; without the agent the policy would serve nothing);
#  - writing the server's WireGuard public key to one SSM parameter (read by the operator);
#  - read/write of the optional Loki bucket (Loki on the host uses the role through IMDSv2).

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${local.prefix}-instance"
  description        = "Monitoring server: SSM Session Manager, its WireGuard key parameter, the Loki bucket"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  count      = var.ssm_agent == null ? 0 : 1
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

# The attachment was unconditional before ssm_agent existed: keep it in state, do not re-create it.
moved {
  from = aws_iam_role_policy_attachment.ssm_core
  to   = aws_iam_role_policy_attachment.ssm_core[0]
}

data "aws_iam_policy_document" "monitoring" {
  statement {
    sid       = "PublishWireGuardPublicKey"
    actions   = ["ssm:PutParameter", "ssm:GetParameter"]
    resources = [aws_ssm_parameter.wireguard_public_key.arn]
  }

  dynamic "statement" {
    for_each = var.loki_bucket_enabled ? [1] : []
    content {
      sid       = "LokiBucketList"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.loki[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.loki_bucket_enabled ? [1] : []
    content {
      sid       = "LokiBucketObjects"
      actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
      resources = ["${aws_s3_bucket.loki[0].arn}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.kms_key_arn == null ? [] : [1]
    content {
      sid       = "UseDataKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = [var.kms_key_arn]
    }
  }
}

resource "aws_iam_role_policy" "monitoring" {
  name   = "${local.prefix}-instance"
  role   = aws_iam_role.monitoring.id
  policy = data.aws_iam_policy_document.monitoring.json
}

resource "aws_iam_instance_profile" "monitoring" {
  name = "${local.prefix}-instance"
  role = aws_iam_role.monitoring.name
}

# Terraform creates the parameter (so destroy removes it) with a placeholder; the instance
# overwrites the value at first boot, hence ignore_changes. A public key is not a secret, so a
# plain String is enough and lets the operator read it without KMS permissions.
resource "aws_ssm_parameter" "wireguard_public_key" {
  #checkov:skip=CKV2_AWS_34:holds a WireGuard public key, which is public by design; encryption adds a KMS dependency for no secrecy.
  name        = local.wireguard_public_key_parameter
  description = "WireGuard public key of the ${var.environment} monitoring server, written by the instance at first boot"
  type        = "String"
  value       = "pending: the instance writes its WireGuard public key here at first boot"

  lifecycle {
    ignore_changes = [value]
  }
}
