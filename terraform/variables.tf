# ---------------------------------------------------------------------------------------------
# Identity and placement
# ---------------------------------------------------------------------------------------------

variable "environment" {
  description = "Environment name (prod, dev or lab). Used in resource names, tags and the SSM parameter path."
  type        = string

  validation {
    condition     = contains(["prod", "dev", "lab"], var.environment)
    error_message = "environment must be one of prod, dev, lab."
  }
}

variable "region" {
  description = "AWS region for every resource, e.g. ap-northeast-2."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must look like an AWS region name, e.g. ap-northeast-2."
  }
}

variable "name" {
  description = "Name prefix for every resource (lower-case letters, digits and hyphens)."
  type        = string
  default     = "obs-monitoring"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name))
    error_message = "name must be 3-32 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags added to every resource (Project, Environment and ManagedBy are always set)."
  type        = map(string)
  default     = {}
}

# ---------------------------------------------------------------------------------------------
# Network: create a small VPC, or use an existing VPC and subnet
# ---------------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "Existing VPC to use. null creates a VPC, public subnet, internet gateway and route. Set together with subnet_id."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be null or a VPC id like vpc-0123456789abcdef0."
  }
}

variable "subnet_id" {
  description = "Existing public subnet (routed to an internet gateway) inside vpc_id. Required when vpc_id is set."
  type        = string
  default     = null

  validation {
    condition     = var.subnet_id == null || can(regex("^subnet-[0-9a-f]{8,17}$", var.subnet_id))
    error_message = "subnet_id must be null or a subnet id like subnet-0123456789abcdef0."
  }
}

variable "vpc_cidr" {
  description = "CIDR of the VPC created when vpc_id is null."
  type        = string
  default     = "10.60.0.0/24"

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.60.0.0/24."
  }
}

variable "subnet_cidr" {
  description = "CIDR of the public subnet created when vpc_id is null; must lie inside vpc_cidr."
  type        = string
  default     = "10.60.0.0/26"

  validation {
    condition     = can(cidrnetmask(var.subnet_cidr))
    error_message = "subnet_cidr must be an IPv4 CIDR block such as 10.60.0.0/26."
  }
}

variable "availability_zone" {
  description = "Availability zone of the created subnet (and so of the instance and data volume). null picks the region's first zone."
  type        = string
  default     = null
}

# ---------------------------------------------------------------------------------------------
# Security group
# ---------------------------------------------------------------------------------------------

variable "wireguard_port" {
  description = "UDP port WireGuard listens on; the only port the security group opens."
  type        = number
  default     = 51820

  validation {
    condition     = var.wireguard_port >= 1024 && var.wireguard_port <= 65535 && floor(var.wireguard_port) == var.wireguard_port
    error_message = "wireguard_port must be an integer between 1024 and 65535."
  }
}

variable "wireguard_ingress_cidrs" {
  description = "IPv4 CIDRs allowed to reach the WireGuard port. WireGuard never answers a packet without a valid peer key, so 0.0.0.0/0 is acceptable for roaming operators; narrow it to office and app-host addresses when they are fixed."
  type        = list(string)

  validation {
    condition     = length(var.wireguard_ingress_cidrs) > 0
    error_message = "wireguard_ingress_cidrs must list at least one CIDR, or nobody can reach the server."
  }

  validation {
    condition     = alltrue([for c in var.wireguard_ingress_cidrs : can(cidrnetmask(c))])
    error_message = "every entry of wireguard_ingress_cidrs must be an IPv4 CIDR block such as 198.51.100.0/24 or 0.0.0.0/0."
  }
}

variable "egress_rules" {
  description = <<-EOT
    Outbound rules of the security group. The defaults let the server reach package mirrors and
    container registries (tcp/80, tcp/443). Add tcp/587 for SMTP alert e-mail. Replies to WireGuard
    peers need no rule (security groups are stateful); DNS, NTP and the instance metadata service use
    link-local addresses that security groups do not filter.
  EOT
  type = list(object({
    description = string
    protocol    = string
    from_port   = number
    to_port     = number
    cidr_blocks = list(string)
  }))
  default = [
    { description = "HTTPS: container registries, apt, Discord webhooks, AWS APIs", protocol = "tcp", from_port = 443, to_port = 443, cidr_blocks = ["0.0.0.0/0"] },
    { description = "HTTP: Debian apt mirrors", protocol = "tcp", from_port = 80, to_port = 80, cidr_blocks = ["0.0.0.0/0"] },
  ]

  validation {
    condition     = alltrue([for r in var.egress_rules : contains(["tcp", "udp", "icmp"], r.protocol)])
    error_message = "egress_rules[*].protocol must be tcp, udp or icmp (all-protocol egress is not allowed)."
  }

  validation {
    condition     = alltrue([for r in var.egress_rules : alltrue([for c in r.cidr_blocks : can(cidrnetmask(c))])])
    error_message = "egress_rules[*].cidr_blocks must be IPv4 CIDR blocks."
  }

  validation {
    condition     = alltrue([for r in var.egress_rules : length(trimspace(r.description)) > 0])
    error_message = "every egress rule needs a description saying why it exists."
  }
}

# ---------------------------------------------------------------------------------------------
# Instance
# ---------------------------------------------------------------------------------------------

variable "instance_type" {
  description = "EC2 instance type. Must support the AMI's architecture (arm64 for the default Debian AMI), e.g. t4g.small."
  type        = string
  default     = "t4g.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.instance_type))
    error_message = "instance_type must look like an EC2 instance type, e.g. t4g.small."
  }
}

variable "ami_id" {
  description = "Use exactly this AMI. null looks one up with ami_owners and ami_name_filter (most recent)."
  type        = string
  default     = null

  validation {
    condition     = var.ami_id == null || can(regex("^ami-[0-9a-f]{8,17}$", var.ami_id))
    error_message = "ami_id must be null or an AMI id like ami-0123456789abcdef0."
  }
}

variable "ami_owners" {
  description = "AMI owners searched when ami_id is null. 136693071363 is the Debian project's official AWS account."
  type        = list(string)
  default     = ["136693071363"]

  validation {
    condition     = length(var.ami_owners) > 0
    error_message = "ami_owners must name at least one owner (account id or alias such as amazon)."
  }
}

variable "ami_name_filter" {
  description = "AMI name pattern searched when ami_id is null (Debian 12 arm64 by default)."
  type        = string
  default     = "debian-12-arm64-*"

  validation {
    condition     = length(trimspace(var.ami_name_filter)) > 0
    error_message = "ami_name_filter must not be empty."
  }
}

variable "root_volume_size" {
  description = "Size in GiB of the encrypted gp3 root volume (OS and packages only; data lives on the data volume)."
  type        = number
  default     = 16

  validation {
    condition     = var.root_volume_size >= 8 && var.root_volume_size <= 200
    error_message = "root_volume_size must be between 8 and 200 GiB."
  }
}

variable "kms_key_arn" {
  description = "Customer-managed KMS key for the EBS volumes and the Loki bucket. null uses the AWS-managed keys (aws/ebs, aws/s3)."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN."
  }
}

# ---------------------------------------------------------------------------------------------
# Data volume (survives instance replacement)
# ---------------------------------------------------------------------------------------------

variable "data_volume_size" {
  description = "Size in GiB of the encrypted gp3 data volume that holds the Docker data root and the stack's volumes."
  type        = number
  default     = 50

  validation {
    condition     = var.data_volume_size >= 10 && var.data_volume_size <= 16384
    error_message = "data_volume_size must be between 10 and 16384 GiB."
  }
}

variable "data_mount_point" {
  description = "Where cloud-init mounts the data volume. Point Docker's data-root and the stack's volumes below it."
  type        = string
  default     = "/srv/obs-data"

  validation {
    condition     = can(regex("^/[A-Za-z0-9._/-]+$", var.data_mount_point)) && !contains(["/", "/etc", "/usr", "/var", "/boot"], var.data_mount_point)
    error_message = "data_mount_point must be an absolute path and not a system directory such as / or /var."
  }
}

variable "data_volume_final_snapshot" {
  description = "Take a snapshot of the data volume when Terraform deletes it (terraform destroy). Keep true outside the lab."
  type        = bool
  default     = true
}

# ---------------------------------------------------------------------------------------------
# Day-one access and break-glass (docs/decisions/0005-day-one-access-and-break-glass.md)
# ---------------------------------------------------------------------------------------------

variable "admin_ssh_public_keys" {
  description = "OpenSSH public keys cloud-init authorizes for the AMI's default user (admin on Debian's AMIs, sudo without password), the login Ansible uses (inventories: ansible_user admin). The security group admits only WireGuard, so SSH is reachable through the tunnel only."
  type        = list(string)

  validation {
    condition     = length(var.admin_ssh_public_keys) > 0
    error_message = "admin_ssh_public_keys must list at least one OpenSSH public key (the contents of ~/.ssh/id_ed25519.pub), or neither Ansible nor anyone else can log in over the tunnel."
  }

  validation {
    condition     = alltrue([for k in var.admin_ssh_public_keys : can(regex("^(ssh-ed25519|sk-ssh-ed25519@openssh\\.com|ecdsa-sha2-nistp(256|384|521)|sk-ecdsa-sha2-nistp256@openssh\\.com|ssh-rsa) AAAA[A-Za-z0-9+/]+={0,3}( [^\\n]*)?$", k))])
    error_message = "every admin_ssh_public_keys entry must be one OpenSSH public key line such as \"ssh-ed25519 AAAAC3Nza... you@laptop\" (the .pub file, never the private key)."
  }
}

variable "ssm_agent" {
  description = <<-EOT
    Break-glass shell when the tunnel is down: cloud-init installs this exact release of the SSM agent
    (Session Manager; Debian's AMIs do not ship it) from the region's official bucket
    https://s3.<region>.amazonaws.com/amazon-ssm-<region>/<version>/debian_<arch>/amazon-ssm-agent.deb
    and refuses the file unless its sha256 matches. Required, with no default: take a version from the
    SSM agent release notes and the sha256 of that .deb for the AMI's architecture (arm64 for t4g),
    verified as docs/terraform.md describes. null installs no agent and attaches no SSM policy:
    then the tunnel is the only way in (only for the lab, where no instance boots).
  EOT
  type = object({
    version = string
    sha256  = string
  })
  nullable = true

  validation {
    condition     = var.ssm_agent == null || can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.ssm_agent.version))
    error_message = "ssm_agent.version must be an SSM agent release number as the release notes write it (four dot-separated numbers, the <version> path segment of the regional download bucket), not \"latest\" or empty."
  }

  validation {
    condition     = var.ssm_agent == null || can(regex("^[0-9a-f]{64}$", var.ssm_agent.sha256))
    error_message = "ssm_agent.sha256 must be the 64 lower-case hex digits of `sha256sum amazon-ssm-agent.deb` for that version and the AMI's architecture (docs/terraform.md, Break-glass)."
  }
}

# ---------------------------------------------------------------------------------------------
# WireGuard bootstrap (cloud-init)
# ---------------------------------------------------------------------------------------------

variable "wireguard_network" {
  description = "Tunnel subnet (IPv4 CIDR); the server and every peer have an address inside it."
  type        = string
  default     = "10.100.0.0/24"

  validation {
    condition     = can(cidrnetmask(var.wireguard_network))
    error_message = "wireguard_network must be an IPv4 CIDR block such as 10.100.0.0/24."
  }
}

variable "wireguard_address" {
  description = "The server's tunnel address (no prefix length). Ansible reaches the server here."
  type        = string
  default     = "10.100.0.1"

  validation {
    condition     = can(cidrhost("${var.wireguard_address}/32", 0))
    error_message = "wireguard_address must be an IPv4 address without prefix length, e.g. 10.100.0.1."
  }
}

variable "wireguard_operator_peers" {
  description = "Operator peers configured by cloud-init so the first Ansible run can go through the tunnel: name, tunnel address (no prefix length) and WireGuard public key (44 base64 characters). Same shape as the wireguard role's wireguard_operator_peers, which applies later changes (not a new instance)."
  type = list(object({
    name       = string
    address    = string
    public_key = string
  }))

  validation {
    condition     = length(var.wireguard_operator_peers) > 0
    error_message = "wireguard_operator_peers must list at least one operator peer, or nobody can reach the server."
  }

  validation {
    condition     = alltrue([for p in var.wireguard_operator_peers : can(regex("^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$", p.public_key))])
    error_message = "every wireguard_operator_peers[*].public_key must be a WireGuard public key: 44 base64 characters ending in '=' (the output of `wg pubkey`), not empty."
  }

  validation {
    condition     = alltrue([for p in var.wireguard_operator_peers : can(regex("^[a-z0-9][a-z0-9_-]{0,31}$", p.name))])
    error_message = "every wireguard_operator_peers[*].name must be 1-32 lower-case letters, digits, '-' or '_'."
  }

  validation {
    condition     = alltrue([for p in var.wireguard_operator_peers : can(cidrhost("${p.address}/32", 0))])
    error_message = "every wireguard_operator_peers[*].address must be an IPv4 address without prefix length."
  }

  validation {
    condition     = length(distinct([for p in var.wireguard_operator_peers : p.public_key])) == length(var.wireguard_operator_peers)
    error_message = "wireguard_operator_peers must not repeat a public key."
  }
}

# ---------------------------------------------------------------------------------------------
# Optional S3 bucket for Loki object storage (the scale-out path)
# ---------------------------------------------------------------------------------------------

variable "loki_bucket_enabled" {
  description = "Create an S3 bucket for Loki chunks and index. false keeps Loki on the data volume."
  type        = bool
  default     = false
}

variable "loki_bucket_name" {
  description = "Bucket name. null derives <name>-<environment>-loki-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.loki_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.loki_bucket_name))
    error_message = "loki_bucket_name must be a valid S3 bucket name (3-63 lower-case letters, digits, dots, hyphens)."
  }
}

variable "loki_bucket_expiration_days" {
  description = "Objects in the Loki bucket expire after this many days. Keep it above Loki's retention_period so the compactor, not S3, decides what is deleted."
  type        = number
  default     = 400

  validation {
    condition     = var.loki_bucket_expiration_days >= 1
    error_message = "loki_bucket_expiration_days must be at least 1."
  }
}

variable "loki_bucket_force_destroy" {
  description = "Let terraform destroy delete a non-empty Loki bucket. Only for throw-away environments (lab)."
  type        = bool
  default     = false
}

variable "tempo_bucket_prefix" {
  description = "Key prefix of Tempo's trace blocks in the Loki bucket (monitoring_stack_tempo_s3_prefix: Terraform output tempo_bucket_prefix). Only there may the instance role tag objects, which Tempo needs."
  type        = string
  default     = "tempo"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,62}$", var.tempo_bucket_prefix))
    error_message = "tempo_bucket_prefix must be 1-63 lower-case letters, digits and hyphens (one path segment, no slash)."
  }
}

# ---------------------------------------------------------------------------------------------
# Optional Amazon Managed Service for Prometheus workspace (the metrics scale-out path)
# ---------------------------------------------------------------------------------------------

variable "amp_workspace_enabled" {
  description = "Create an Amazon Managed Service for Prometheus workspace and let the instance role remote-write to it and query it (Prometheus remote_write and Grafana with SigV4, docs/scale-out.md). false: metrics stay on the data volume only."
  type        = bool
  default     = false
}
