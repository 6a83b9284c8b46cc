# The network: a new custom-mode VPC, or an existing one by name; either way Vintner creates
# the cluster's subnetwork from cidr_block (nodes: the first /20 of a /16, pods: the second
# quarter, services: the second /20) and a Cloud NAT for the private nodes.

resource "google_compute_network" "this" {
  count = var.provision_network ? 1 : 0

  name                    = local.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

data "google_compute_network" "existing" {
  count = var.provision_network ? 0 : 1

  name = var.network_id
}

locals {
  network_id        = var.provision_network ? google_compute_network.this[0].id : data.google_compute_network.existing[0].id
  network_self_link = var.provision_network ? google_compute_network.this[0].self_link : data.google_compute_network.existing[0].self_link
}

resource "google_compute_subnetwork" "nodes" {
  name                     = "${local.name}-nodes"
  region                   = var.region
  network                  = local.network_self_link
  ip_cidr_range            = cidrsubnet(var.cidr_block, 4, 0)
  private_ip_google_access = true

  secondary_ip_range {
    range_name    = "pods"
    ip_cidr_range = cidrsubnet(var.cidr_block, 2, 1)
  }

  secondary_ip_range {
    range_name    = "services"
    ip_cidr_range = cidrsubnet(var.cidr_block, 4, 1)
  }
}

resource "google_compute_router" "this" {
  name    = local.name
  region  = var.region
  network = local.network_self_link
}

resource "google_compute_router_nat" "this" {
  name                               = local.name
  router                             = google_compute_router.this.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "LIST_OF_SUBNETWORKS"

  subnetwork {
    name                    = google_compute_subnetwork.nodes.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }
}
