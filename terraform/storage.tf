# ---------------------------------------------------------------------------------------------
# Data volume: the Docker data root and every stack volume live here, not on the root disk.
#
# Why it survives instance replacement: the volume is its own resource and none of its arguments
# come from the instance (the zone comes from the subnet), so replacing the instance (new AMI,
# changed user_data, `terraform apply -replace=aws_instance.monitoring`) only replaces the
# *attachment*. cloud-init on the new instance finds the existing filesystem and mounts it
# without formatting. tests/integration/test_terraform_moto.py proves it on a plan.
#
# `prevent_destroy` is not used: it must be a literal, and would then also block the lab's
# `terraform destroy`. Instead a deliberate destroy takes a final snapshot
# (data_volume_final_snapshot, true by default).
# ---------------------------------------------------------------------------------------------
resource "aws_ebs_volume" "data" {
  #checkov:skip=CKV_AWS_189:encrypted with the AWS-managed aws/ebs key by default; set kms_key_arn to use a customer-managed key.
  availability_zone = local.availability_zone
  size              = var.data_volume_size
  type              = "gp3"
  encrypted         = true
  kms_key_id        = var.kms_key_arn
  final_snapshot    = var.data_volume_final_snapshot

  tags = { Name = "${local.prefix}-data" }
}

resource "aws_volume_attachment" "data" {
  # /dev/sdf is only a request: on Nitro instances the disk appears as NVMe, and cloud-init finds
  # it by its volume id (/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...).
  device_name = "/dev/sdf"
  volume_id   = aws_ebs_volume.data.id
  instance_id = aws_instance.monitoring.id
  # Stop the instance before detaching on replacement/destroy so the filesystem is unmounted
  # cleanly instead of being yanked away from a running Docker.
  stop_instance_before_detaching = true
}

# ---------------------------------------------------------------------------------------------
# Optional S3 bucket for Loki object storage (the scale-out path).
# ---------------------------------------------------------------------------------------------
resource "aws_s3_bucket" "loki" {
  #checkov:skip=CKV_AWS_18:server access logs need a second bucket; CloudTrail data events are the audit path if ever required.
  #checkov:skip=CKV_AWS_144:cross-region replication doubles storage cost for log data that has its own retention; not worth it for this platform.
  #checkov:skip=CKV2_AWS_62:no consumer of bucket event notifications exists; Loki polls its own index.
  count         = var.loki_bucket_enabled ? 1 : 0
  bucket        = local.loki_bucket_name
  force_destroy = var.loki_bucket_force_destroy

  tags = { Name = local.loki_bucket_name }
}

resource "aws_s3_bucket_public_access_block" "loki" {
  count                   = var.loki_bucket_enabled ? 1 : 0
  bucket                  = aws_s3_bucket.loki[0].id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "loki" {
  count  = var.loki_bucket_enabled ? 1 : 0
  bucket = aws_s3_bucket.loki[0].id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_versioning" "loki" {
  count  = var.loki_bucket_enabled ? 1 : 0
  bucket = aws_s3_bucket.loki[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "loki" {
  count  = var.loki_bucket_enabled ? 1 : 0
  bucket = aws_s3_bucket.loki[0].id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true
  }
}

data "aws_iam_policy_document" "loki_bucket" {
  count = var.loki_bucket_enabled ? 1 : 0

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.loki[0].arn, "${aws_s3_bucket.loki[0].arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "loki" {
  count  = var.loki_bucket_enabled ? 1 : 0
  bucket = aws_s3_bucket.loki[0].id
  policy = data.aws_iam_policy_document.loki_bucket[0].json
  # The public access block must exist first, or S3 may evaluate the policy without it.
  depends_on = [aws_s3_bucket_public_access_block.loki]
}

# Versioning keeps objects Loki's compactor deletes as noncurrent versions; expire those quickly
# so retention in Loki really frees storage.
resource "aws_s3_bucket_lifecycle_configuration" "loki" {
  count  = var.loki_bucket_enabled ? 1 : 0
  bucket = aws_s3_bucket.loki[0].id

  rule {
    id     = "expire-loki-objects"
    status = "Enabled"
    filter {}

    expiration {
      days = var.loki_bucket_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 2
    }
  }

  depends_on = [aws_s3_bucket_versioning.loki]
}
