# The output contract of every Vintner template set (null where it does not apply).

output "cluster_name" {
  description = "The Kubernetes cluster's name."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "The API server URL."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_ca_certificate" {
  description = "The API server's CA certificate, base64-encoded PEM."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "account_id" {
  description = "The AWS account id."
  value       = data.aws_caller_identity.current.account_id
}

output "region" {
  description = "The region."
  value       = var.region
}

output "network_id" {
  description = "The VPC id."
  value       = local.vpc_id
}

output "private_subnet_ids" {
  description = "The private subnets (nodes)."
  value       = local.private_subnet_ids
}

output "public_subnet_ids" {
  description = "The public subnets (internet-facing load balancers)."
  value       = local.public_subnet_ids
}

output "oidc_issuer_url" {
  description = "The cluster's service account token issuer."
  value       = aws_eks_cluster.this.identity[0].oidc[0].issuer
}

output "oidc_provider_arn" {
  description = "The IAM OIDC provider of IRSA."
  value       = aws_iam_openid_connect_provider.eks.arn
}

output "irsa_role_arns" {
  description = "The IRSA role of each platform app."
  value       = { for app, role in aws_iam_role.irsa : app => role.arn }
}

output "dns_zone_id" {
  description = "The Route 53 hosted zone id (null: DNS not managed)."
  value       = local.dns_zone_id
}

output "certificate_arn" {
  description = "The validated ACM certificate (null: none requested)."
  value       = one(aws_acm_certificate_validation.this[*].certificate_arn)
}

output "karpenter_queue_name" {
  description = "Karpenter's interruption queue (null: Karpenter not enabled)."
  value       = one(aws_sqs_queue.karpenter[*].name)
}
