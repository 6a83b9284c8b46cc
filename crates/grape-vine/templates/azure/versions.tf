# Vintner's Azure vine: a resource group, a virtual network (or an existing one) with a subnet
# for the nodes, an AKS cluster (OIDC issuer and workload identity on, Azure RBAC), the cluster
# admins' role assignments, and an optional Azure DNS zone. Never validated against the
# azurerm provider (none is available where it was written): parse-tested only.

terraform {
  required_version = ">= 1.10"

  required_providers {
    azurerm = {
      source  = "hashicorp/azurerm"
      version = ">= 4.0, < 5.0"
    }
  }
}

# The subscription comes from the identity's environment (ARM_SUBSCRIPTION_ID).
provider "azurerm" {
  features {}
}

data "azurerm_client_config" "current" {}

locals {
  name = "${var.project_name}-${var.environment_stage}"
  tags = {
    "vintner.dev/project"     = var.project_name
    "vintner.dev/environment" = var.environment_stage
    "vintner.dev/managed-by"  = "vintner"
  }
}

resource "azurerm_resource_group" "this" {
  name     = "rg-${local.name}"
  location = var.region
  tags     = local.tags
}
