# DNS: an Azure DNS zone for domain_name, unless an existing zone is given.

locals {
  create_zone = var.dns_enabled && var.dns_zone_id == null
  dns_zone_id = var.dns_enabled ? (local.create_zone ? azurerm_dns_zone.this[0].id : var.dns_zone_id) : null
}

resource "azurerm_dns_zone" "this" {
  count = local.create_zone ? 1 : 0

  name                = var.domain_name
  resource_group_name = azurerm_resource_group.this.name
  tags                = local.tags
}
