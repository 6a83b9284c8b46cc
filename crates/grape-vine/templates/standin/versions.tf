# Vintner's stand-in vine: terraform_data resources with the same variables and outputs as the
# provider template sets and no provider at all, for end-to-end tests without a cloud.

terraform {
  required_version = ">= 1.10"
}

locals {
  name = "${var.project_name}-${var.environment_stage}"
}
