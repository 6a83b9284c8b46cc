# Vintner's AWS vine: a VPC (public and private subnets across availability zones, internet
# gateway, NAT), an EKS cluster with a managed node group, the IAM OIDC provider for IRSA, the
# IRSA roles of the platform's apps, an optional Route 53 zone and ACM certificate, and
# Karpenter's roles and interruption queue when enabled. No registry modules: every resource is
# written out.

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.95, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  name      = "${var.project_name}-${var.environment_stage}"
  partition = data.aws_partition.current.partition
  tags = {
    "vintner.dev/project"     = var.project_name
    "vintner.dev/environment" = var.environment_stage
    "vintner.dev/managed-by"  = "vintner"
  }
}
