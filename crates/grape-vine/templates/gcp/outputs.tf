# The output contract of every Vintner template set (null where it does not apply).

output "cluster_name" {
  description = "The Kubernetes cluster's name."
  value       = google_container_cluster.this.name
}

output "cluster_endpoint" {
  description = "The API server URL."
  value       = "https://${google_container_cluster.this.endpoint}"
}

output "cluster_ca_certificate" {
  description = "The API server's CA certificate, base64-encoded PEM."
  value       = google_container_cluster.this.master_auth[0].cluster_ca_certificate
}

output "account_id" {
  description = "The GCP project id."
  value       = local.project
}

output "region" {
  description = "The region."
  value       = var.region
}

output "network_id" {
  description = "The VPC network id."
  value       = local.network_id
}

output "private_subnet_ids" {
  description = "The cluster's subnetwork."
  value       = [google_compute_subnetwork.nodes.id]
}

output "public_subnet_ids" {
  description = "Not applicable on GCP."
  value       = null
}

output "oidc_issuer_url" {
  description = "The cluster's service account token issuer."
  value       = "https://container.googleapis.com/v1/${google_container_cluster.this.id}"
}

output "oidc_provider_arn" {
  description = "Not applicable on GCP (Workload Identity)."
  value       = null
}

output "irsa_role_arns" {
  description = "Not applicable on GCP (Workload Identity)."
  value       = null
}

output "dns_zone_id" {
  description = "The Cloud DNS managed zone name (null: DNS not managed)."
  value       = local.dns_zone_id
}

output "certificate_arn" {
  description = "Not applicable on GCP."
  value       = null
}

output "karpenter_queue_name" {
  description = "Not applicable on GCP."
  value       = null
}
