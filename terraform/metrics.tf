# ---------------------------------------------------------------------------------------------
# Optional Amazon Managed Service for Prometheus workspace: the metrics scale-out path
# (docs/scale-out.md). The server's Prometheus keeps scraping and alerting locally and also
# remote-writes everything here with SigV4 signed by the instance role (no static keys); Grafana
# queries it through the Amazon Managed Service for Prometheus data source with the same role.
# The role's permissions: iam.tf (AmpRemoteWrite, AmpQuery), scoped to this workspace.
# ---------------------------------------------------------------------------------------------
resource "aws_prometheus_workspace" "metrics" {
  count = var.amp_workspace_enabled ? 1 : 0
  alias = local.prefix

  tags = { Name = local.prefix }
}
