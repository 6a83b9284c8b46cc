# DNS: a Cloud DNS managed zone for domain_name, unless an existing zone is given.

locals {
  create_zone = var.dns_enabled && var.dns_zone_id == null
  dns_zone_id = var.dns_enabled ? (local.create_zone ? google_dns_managed_zone.this[0].name : var.dns_zone_id) : null
}

resource "google_dns_managed_zone" "this" {
  count = local.create_zone ? 1 : 0

  name     = local.name
  dns_name = "${var.domain_name}."
  labels   = local.labels
}
