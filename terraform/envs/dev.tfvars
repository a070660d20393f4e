# Development: a smaller copy of prod for trying module or role changes. With the S3 state backend:
#   terraform init -backend-config=envs/dev.s3.tfbackend   (copy dev.s3.tfbackend.example first)
#   terraform apply -var-file=envs/dev.tfvars
environment = "dev"
region      = "ap-northeast-2"

# The stack's memory profile with the analyzer (on by default) does not fit a t4g.small's MemTotal
# (README, Memory budget: `obsctl budget`). Must equal monitoring_stack_instance_type in
# inventories/dev/group_vars/monitoring.yml (tests/contract/test_instance_type_agreement.py).
instance_type = "t4g.medium"

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

# REQUIRED before the first apply (left empty on purpose: plan fails with a clear message until set):
# - the OpenSSH public keys that may log in as `admin` (Ansible's ansible_user) through the tunnel;
# - the SSM agent release for break-glass (`terraform output break_glass_command` when the tunnel
#   is down): a version from the SSM agent release notes and the sha256 of its debian_arm64 .deb,
#   verified as docs/terraform.md (Break-glass) describes. Never "latest": the server must get
#   exactly what was checked.
admin_ssh_public_keys = []
ssm_agent             = { version = "", sha256 = "" }

data_volume_size           = 30
data_volume_final_snapshot = true
loki_bucket_enabled        = false
vpc_cidr                   = "10.61.0.0/24"
subnet_cidr                = "10.61.0.0/26"
