# The AKS cluster: system-assigned identity, Azure CNI overlay, OIDC issuer and workload
# identity, Entra ID with Azure RBAC; the cluster admins get the RBAC Cluster Admin role.

resource "azurerm_kubernetes_cluster" "this" {
  name                = local.name
  location            = azurerm_resource_group.this.location
  resource_group_name = azurerm_resource_group.this.name
  dns_prefix          = local.name
  kubernetes_version  = var.cluster_version

  oidc_issuer_enabled       = true
  workload_identity_enabled = true

  default_node_pool {
    name                 = "default"
    vm_size              = var.instance_types[0]
    vnet_subnet_id       = azurerm_subnet.nodes.id
    auto_scaling_enabled = true
    # The system pool needs at least one node.
    min_count  = max(1, var.node_min_size)
    max_count  = var.node_max_size
    node_count = max(1, var.node_desired_size)
    tags       = local.tags
  }

  identity {
    type = "SystemAssigned"
  }

  network_profile {
    network_plugin      = "azure"
    network_plugin_mode = "overlay"
    service_cidr        = "172.16.0.0/16"
    dns_service_ip      = "172.16.0.10"
  }

  azure_active_directory_role_based_access_control {
    tenant_id          = data.azurerm_client_config.current.tenant_id
    azure_rbac_enabled = true
  }

  tags = local.tags

  lifecycle {
    ignore_changes = [default_node_pool[0].node_count]
  }
}

# The cluster uses the nodes' subnet of a (possibly existing) network.
resource "azurerm_role_assignment" "network" {
  scope                = azurerm_subnet.nodes.id
  role_definition_name = "Network Contributor"
  principal_id         = azurerm_kubernetes_cluster.this.identity[0].principal_id
}

resource "azurerm_role_assignment" "cluster_admin" {
  for_each = toset(var.cluster_admins)

  scope                = azurerm_kubernetes_cluster.this.id
  role_definition_name = "Azure Kubernetes Service RBAC Cluster Admin"
  principal_id         = each.value
}
