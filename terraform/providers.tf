# No endpoint overrides here on purpose: the lab points the provider at a local AWS emulator
# through the standard AWS_ENDPOINT_URL environment variable, so this file is what prod runs.
provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      Project     = "obs-platform"
      Environment = var.environment
      ManagedBy   = "terraform"
    })
  }
}
