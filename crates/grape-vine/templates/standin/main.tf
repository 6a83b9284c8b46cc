# One terraform_data per part of a real vine; each keeps the inputs that part depends on, so a
# changed vine plans a replacement like the real resources would.

resource "terraform_data" "network" {
  input = {
    id         = var.provision_network ? "stand-in-network-${local.name}" : var.network_id
    cidr_block = var.cidr_block
    private    = [for i in range(3) : "stand-in-private-${local.name}-${i}"]
    public     = [for i in range(3) : "stand-in-public-${local.name}-${i}"]
    single_nat = var.single_nat_gateway
  }
}

resource "terraform_data" "cluster" {
  input = {
    name           = local.name
    version        = var.cluster_version
    network        = terraform_data.network.output.id
    instance_types = var.instance_types
    min_size       = var.node_min_size
    max_size       = var.node_max_size
    desired_size   = var.node_desired_size
    admins         = var.cluster_admins
  }
}

resource "terraform_data" "dns" {
  count = var.dns_enabled ? 1 : 0

  input = {
    zone_id     = coalesce(var.dns_zone_id, "stand-in-zone-${local.name}")
    domain_name = var.domain_name
    certificate = var.acm_certificate
  }
}

resource "terraform_data" "karpenter" {
  count = var.enable_karpenter ? 1 : 0

  input = { queue = local.name }
}
