# The output contract of every Vintner template set (null where it does not apply).

output "cluster_name" {
  description = "The Kubernetes cluster's name."
  value       = azurerm_kubernetes_cluster.this.name
}

output "cluster_endpoint" {
  description = "The API server URL."
  value       = nonsensitive(azurerm_kubernetes_cluster.this.kube_config[0].host)
}

output "cluster_ca_certificate" {
  description = "The API server's CA certificate, base64-encoded PEM (public, not a secret)."
  value       = nonsensitive(azurerm_kubernetes_cluster.this.kube_config[0].cluster_ca_certificate)
}

output "account_id" {
  description = "The Azure subscription id."
  value       = data.azurerm_client_config.current.subscription_id
}

output "region" {
  description = "The region."
  value       = var.region
}

output "network_id" {
  description = "The virtual network id."
  value       = local.network_id
}

output "private_subnet_ids" {
  description = "The nodes' subnet."
  value       = [azurerm_subnet.nodes.id]
}

output "public_subnet_ids" {
  description = "Not applicable on Azure."
  value       = null
}

output "oidc_issuer_url" {
  description = "The cluster's service account token issuer."
  value       = azurerm_kubernetes_cluster.this.oidc_issuer_url
}

output "oidc_provider_arn" {
  description = "Not applicable on Azure (workload identity)."
  value       = null
}

output "irsa_role_arns" {
  description = "Not applicable on Azure (workload identity)."
  value       = null
}

output "dns_zone_id" {
  description = "The Azure DNS zone id (null: DNS not managed)."
  value       = local.dns_zone_id
}

output "certificate_arn" {
  description = "Not applicable on Azure."
  value       = null
}

output "karpenter_queue_name" {
  description = "Not applicable on Azure."
  value       = null
}
