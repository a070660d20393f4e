# The lab (`make lab`): the same module against the local AWS emulator (moto), reached through
# AWS_ENDPOINT_URL. State: envs/lab.s3.tfbackend (a bucket inside the emulator).
environment = "lab"
region      = "eu-central-1"

# moto has no Debian images; its Amazon Linux 2023 arm64 image keeps the arm64 check meaningful.
# The emulator boots nothing: `obsctl lab up` reads the instance's user_data back from it and
# mon-1 (a Debian 12 container with cloud-init) boots that user_data (docs/lab.md).
ami_owners      = ["amazon"]
ami_name_filter = "al2023-ami-2023.*-kernel-6.1-arm64"

wireguard_ingress_cidrs = ["0.0.0.0/0"]
wireguard_network       = "10.100.0.0/24"
wireguard_address       = "10.100.0.1"

# Placeholders for `terraform plan` alone: `obsctl lab up` overrides both lists with the public
# halves of the keys it generates per lab (.obs/lab/access/, obsctl/lab/access.py), so mon-1's
# cloud-init puts this machine's operator peer into wg0 and authorizes its admin SSH key. The
# operator's address here is the one the lab uses (obsctl/lab/layout.py OPERATOR_ADDRESS, tested).
wireguard_operator_peers = [
  { name = "lab-operator", public_key = "dq9E0mKfdNV6nPy5M9r+vBEd7iy845xJTsetODi/8DY=", address = "10.100.0.200" },
]

data_volume_size = 10
# Throw-away environment: destroy must leave nothing behind (no final snapshot).
data_volume_final_snapshot = false

# The Loki bucket is off: the lab's Loki keeps chunks on the data volume, and the bucket's
# lifecycle rule alone costs ~56 s against moto. tests/integration/test_terraform_moto.py
# turns it on once to cover it.
loki_bucket_enabled       = false
loki_bucket_force_destroy = true

# A syntactically valid public key whose private half was discarded (overridden by `obsctl lab up`,
# see above), and no SSM agent (not in any reachable registry here; no SSM policy either).
admin_ssh_public_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMEwKnMqdgWMTAAnVFhhYLp0iNHAI2rI6V62FnWPrFas lab-discarded"]
ssm_agent             = null
