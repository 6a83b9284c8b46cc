# The output contract of every Vintner template set (null where it does not apply).

output "cluster_name" {
  value = terraform_data.cluster.output.name
}

output "cluster_endpoint" {
  value = "https://${terraform_data.cluster.output.name}.stand-in.invalid"
}

output "cluster_ca_certificate" {
  value = base64encode("stand-in CA of ${terraform_data.cluster.output.name}")
}

output "account_id" {
  value = "000000000000"
}

output "region" {
  value = var.region
}

output "network_id" {
  value = terraform_data.network.output.id
}

output "private_subnet_ids" {
  value = terraform_data.network.output.private
}

output "public_subnet_ids" {
  value = terraform_data.network.output.public
}

output "oidc_issuer_url" {
  value = "https://oidc.stand-in.invalid/${terraform_data.cluster.output.name}"
}

output "oidc_provider_arn" {
  value = "arn:aws:iam::000000000000:oidc-provider/oidc.stand-in.invalid/${terraform_data.cluster.output.name}"
}

output "irsa_role_arns" {
  value = merge(
    { for app in ["load_balancer_controller", "external_dns", "external_secrets"] : app => "arn:aws:iam::000000000000:role/${local.name}-${app}" },
    { for k in terraform_data.karpenter : "karpenter" => "arn:aws:iam::000000000000:role/${local.name}-karpenter" },
  )
}

output "dns_zone_id" {
  value = one(terraform_data.dns[*].output.zone_id)
}

output "certificate_arn" {
  value = var.acm_certificate ? "arn:aws:acm:${var.region}:000000000000:certificate/stand-in" : null
}

output "karpenter_queue_name" {
  value = one(terraform_data.karpenter[*].output.queue)
}
