# Production: the monitoring server for the SaaS. With the S3 state backend:
#   terraform init -backend-config=envs/prod.s3.tfbackend   (copy prod.s3.tfbackend.example first)
#   terraform apply -var-file=envs/prod.tfvars
environment = "prod"
region      = "ap-northeast-2"

# WireGuard drops every packet that does not carry a valid peer key, so the port may stay open to
# the internet for roaming operators; narrow it when operator and app-host addresses are fixed.
wireguard_ingress_cidrs = ["0.0.0.0/0"]

wireguard_network = "10.100.0.0/24"
wireguard_address = "10.100.0.1"

# REQUIRED before the first apply: the operators' WireGuard public keys (`wg genkey | tee key |
# wg pubkey` on each laptop). Left empty on purpose: plan fails with a clear message until set.
# App hosts are added by the wireguard Ansible role from the inventory, not here.
wireguard_operator_peers = [
  { name = "operator-1", public_key = "", address = "10.100.0.200" },
]

data_volume_size           = 100
data_volume_final_snapshot = true
loki_bucket_enabled        = false
