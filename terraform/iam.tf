# The instance role grants exactly four things:
#  - SSM Session Manager: break-glass shell access without opening any port (only when cloud-init
#    installs the SSM agent, var.ssm_agent; without the agent the policy would serve nothing);
#  - writing the server's WireGuard public key to one SSM parameter (read by the operator);
#  - read/write of the optional Loki bucket, by Loki and by Tempo under its prefix (both on the host
#    use the role through IMDSv2);
#  - remote write to and queries of the optional AMP workspace (Prometheus and Grafana, SigV4).
# The actions of the last two come from scale-out-permissions.yml (local.scale_out_actions).

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
      actions   = distinct(concat(local.scale_out_actions.loki_bucket, local.scale_out_actions.tempo_bucket))
      resources = [aws_s3_bucket.loki[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.loki_bucket_enabled ? [1] : []
    content {
      sid       = "LokiBucketObjects"
      actions   = local.scale_out_actions.loki_objects
      resources = ["${aws_s3_bucket.loki[0].arn}/*"]
    }
  }

  # Tempo's blocks share the bucket under their own prefix; only there may objects be tagged.
  dynamic "statement" {
    for_each = var.loki_bucket_enabled ? [1] : []
    content {
      sid       = "TempoBucketObjects"
      actions   = local.scale_out_actions.tempo_objects
      resources = ["${aws_s3_bucket.loki[0].arn}/${var.tempo_bucket_prefix}/*"]
    }
  }

  dynamic "statement" {
    for_each = var.amp_workspace_enabled ? [1] : []
    content {
      sid       = "AmpRemoteWrite"
      actions   = local.scale_out_actions.prometheus_remote_write
      resources = [aws_prometheus_workspace.metrics[0].arn]
    }
  }

  dynamic "statement" {
    for_each = var.amp_workspace_enabled ? [1] : []
    content {
      sid       = "AmpQuery"
      actions   = local.scale_out_actions.grafana_amp_query
      resources = [aws_prometheus_workspace.metrics[0].arn]
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
