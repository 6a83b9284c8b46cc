# Vintner's GCP vine: a VPC network (or an existing one) with a subnetwork for the cluster
# (secondary ranges for pods and services), a Cloud Router with Cloud NAT for the private
# nodes, a regional GKE cluster with Workload Identity and a node pool with its own service
# account, the cluster admins' IAM bindings, and an optional Cloud DNS zone. Never validated
# against the google provider (none is available where it was written): parse-tested only.

terraform {
  required_version = ">= 1.10"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 6.0, < 8.0"
    }
  }
}

# The project comes from the identity's environment (GOOGLE_PROJECT).
provider "google" {
  region = var.region
}

data "google_client_config" "current" {}

locals {
  name    = "${var.project_name}-${var.environment_stage}"
  project = data.google_client_config.current.project
  labels = {
    "vintner-project"     = var.project_name
    "vintner-environment" = var.environment_stage
    "vintner-managed-by"  = "vintner"
  }
}
