# State lives in S3 in every environment, locked with an S3 lock object (use_lockfile). The
# bucket, key and region come from a backend config file, so one module serves prod, dev and the
# lab: `terraform init -backend-config=envs/prod.s3.tfbackend` (copy the .example first).
terraform {
  backend "s3" {}
}
