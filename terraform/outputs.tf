output "monitoring_public_ip" {
  description = "Elastic IP of the monitoring server: the WireGuard endpoint (wireguard_endpoint in the inventory)."
  value       = aws_eip.monitoring.public_ip
}

output "monitoring_instance_id" {
  description = "EC2 instance id (the target of the break-glass session, see break_glass_command)."
  value       = aws_instance.monitoring.id
}

output "admin_ssh_command" {
  description = "Day-one login over the tunnel: the AMI's default user with one of admin_ssh_public_keys (what Ansible uses: ansible_user)."
  value       = "ssh ${local.admin_user}@${var.wireguard_address}"
}

output "break_glass_command" {
  description = "Shell on the server without the tunnel (SSM Session Manager; needs the AWS CLI's session-manager-plugin). null when ssm_agent is null: then there is no break-glass path."
  value       = var.ssm_agent == null ? null : "aws ssm start-session --region ${var.region} --target ${aws_instance.monitoring.id}"
}

output "monitoring_tunnel_address" {
  description = "The server's WireGuard tunnel address; Ansible's ansible_host."
  value       = var.wireguard_address
}

output "wireguard_network" {
  description = "The tunnel subnet."
  value       = var.wireguard_network
}

output "wireguard_port" {
  description = "UDP port of the WireGuard endpoint."
  value       = var.wireguard_port
}

output "wireguard_public_key_parameter" {
  description = "SSM parameter where the instance publishes its WireGuard public key at first boot."
  value       = aws_ssm_parameter.wireguard_public_key.name
}

output "wireguard_public_key_command" {
  description = "Command that prints the server's WireGuard public key (no SSH needed)."
  value       = "aws ssm get-parameter --region ${var.region} --name ${aws_ssm_parameter.wireguard_public_key.name} --query Parameter.Value --output text"
}

output "data_volume_id" {
  description = "EBS volume holding the Docker data root and stack volumes; survives instance replacement."
  value       = aws_ebs_volume.data.id
}

output "data_mount_point" {
  description = "Where cloud-init mounts the data volume (Docker's data-root goes below it)."
  value       = var.data_mount_point
}

output "loki_bucket_name" {
  description = "S3 bucket for Loki object storage, or null when loki_bucket_enabled is false."
  value       = var.loki_bucket_enabled ? aws_s3_bucket.loki[0].bucket : null
}

output "region" {
  description = "AWS region of the deployment."
  value       = var.region
}

output "tempo_bucket_prefix" {
  description = "Key prefix of Tempo's blocks in the Loki bucket (monitoring_stack_tempo_s3_prefix); null when loki_bucket_enabled is false."
  value       = var.loki_bucket_enabled ? var.tempo_bucket_prefix : null
}

output "amp_workspace_endpoint" {
  description = "Endpoint of the AMP workspace (ends in /): monitoring_stack_remote_write_endpoint with monitoring_stack_remote_write: amp. Remote write goes to <endpoint>api/v1/remote_write, Grafana queries <endpoint>. null when amp_workspace_enabled is false."
  value       = var.amp_workspace_enabled ? aws_prometheus_workspace.metrics[0].prometheus_endpoint : null
}

output "amp_remote_write_url" {
  description = "Where Prometheus remote-writes (SigV4, service aps) when amp_workspace_enabled is true; null otherwise."
  value       = var.amp_workspace_enabled ? "${aws_prometheus_workspace.metrics[0].prometheus_endpoint}api/v1/remote_write" : null
}
