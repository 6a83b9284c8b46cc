# The network: a new virtual network with cidr_block, or an existing one by resource id; the
# nodes' subnet is the first /20 of a /16 of cidr_block.

resource "azurerm_virtual_network" "this" {
  count = var.provision_network ? 1 : 0

  name                = "vnet-${local.name}"
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  address_space       = [var.cidr_block]
  tags                = local.tags
}

locals {
  # /subscriptions/<s>/resourceGroups/<rg>/providers/Microsoft.Network/virtualNetworks/<name>
  existing_network = var.provision_network ? null : split("/", var.network_id)
}

data "azurerm_virtual_network" "existing" {
  count = var.provision_network ? 0 : 1

  name                = local.existing_network[8]
  resource_group_name = local.existing_network[4]
}

locals {
  network_id    = var.provision_network ? azurerm_virtual_network.this[0].id : data.azurerm_virtual_network.existing[0].id
  network_name  = var.provision_network ? azurerm_virtual_network.this[0].name : data.azurerm_virtual_network.existing[0].name
  network_group = var.provision_network ? azurerm_resource_group.this.name : data.azurerm_virtual_network.existing[0].resource_group_name
}

resource "azurerm_subnet" "nodes" {
  name                 = "snet-${local.name}-nodes"
  resource_group_name  = local.network_group
  virtual_network_name = local.network_name
  address_prefixes     = [cidrsubnet(var.cidr_block, 4, 0)]
}
