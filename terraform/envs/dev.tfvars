# Development: a smaller copy of prod for trying module or role changes. With the S3 state backend:
#   terraform init -backend-config=envs/dev.s3.tfbackend   (copy dev.s3.tfbackend.example first)
#   terraform apply -var-file=envs/dev.tfvars
environment = "dev"
region      = "ap-northeast-2"

# WireGuard drops every packet that does not carry a valid peer key, so the port may stay open to
# the internet for roaming operators; narrow it when operator and app-host addresses are fixed.
wireguard_ingress_cidrs = ["0.0.0.0/0"]

wireguard_network = "10.101.0.0/24" # must match inventories/dev/group_vars/all/main.yml
wireguard_address = "10.101.0.1"

# REQUIRED before the first apply: the operators' WireGuard public keys (`wg genkey | tee key |
# wg pubkey` on each laptop). Left empty on purpose: plan fails with a clear message until set.
# App hosts are added by the wireguard Ansible role from the inventory, not here.
wireguard_operator_peers = [
  { name = "operator-1", public_key = "", address = "10.101.0.200" },
]

data_volume_size           = 30
data_volume_final_snapshot = true
loki_bucket_enabled        = false
vpc_cidr                   = "10.61.0.0/24"
subnet_cidr                = "10.61.0.0/26"
