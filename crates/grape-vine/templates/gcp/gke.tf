# A regional GKE cluster (private nodes, public endpoint, Workload Identity), its node pool
# and the nodes' service account, and the cluster admins' role bindings.

resource "google_service_account" "nodes" {
  account_id   = substr("${local.name}-nodes", 0, 30)
  display_name = "GKE nodes of ${local.name}"
}

resource "google_project_iam_member" "nodes" {
  for_each = toset([
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/monitoring.viewer",
    "roles/artifactregistry.reader",
  ])

  project = local.project
  role    = each.value
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_container_cluster" "this" {
  name     = local.name
  location = var.region

  min_master_version       = var.cluster_version
  remove_default_node_pool = true
  initial_node_count       = 1
  # Vintner's DESTROY removes the vine in reverse: the cluster must be deletable.
  deletion_protection = false

  network         = local.network_self_link
  subnetwork      = google_compute_subnetwork.nodes.self_link
  networking_mode = "VPC_NATIVE"

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = false
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  workload_identity_config {
    workload_pool = "${local.project}.svc.id.goog"
  }

  release_channel {
    channel = "UNSPECIFIED"
  }

  resource_labels = local.labels
}

resource "google_container_node_pool" "default" {
  name     = "default"
  cluster  = google_container_cluster.this.id
  location = var.region
  version  = var.cluster_version

  # A regional pool has nodes in every zone: the totals are the vine's sizes.
  initial_node_count = max(1, ceil(var.node_desired_size / 3))

  autoscaling {
    total_min_node_count = var.node_min_size
    total_max_node_count = var.node_max_size
    location_policy      = "BALANCED"
  }

  management {
    auto_repair  = true
    auto_upgrade = false
  }

  node_config {
    machine_type    = var.instance_types[0]
    service_account = google_service_account.nodes.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    labels          = local.labels

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }

  lifecycle {
    ignore_changes = [initial_node_count]
  }
}

resource "google_project_iam_member" "cluster_admin" {
  for_each = toset(var.cluster_admins)

  project = local.project
  role    = "roles/container.admin"
  member  = "user:${each.value}"
}
