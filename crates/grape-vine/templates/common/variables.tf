# Input variables of every Vintner template set, written by Vintner into terraform.tfvars.json
# from the vine (see the vine's documentation for each field). Every set declares all of them;
# a set ignores the ones that do not apply to its provider.

variable "project_name" {
  description = "The project's name (a DNS label, at most 20 characters)."
  type        = string
}

variable "environment_stage" {
  description = "The environment stage (a DNS label, at most 20 characters)."
  type        = string
}

variable "region" {
  description = "The cloud region."
  type        = string
}

variable "cluster_version" {
  description = "The Kubernetes minor version, e.g. 1.31."
  type        = string
}

variable "instance_types" {
  description = "Node instance / machine types; GCP and Azure use the first."
  type        = list(string)
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
}

variable "node_desired_size" {
  description = "Desired number of nodes."
  type        = number
}

variable "cluster_admins" {
  description = "Cluster administrators: IAM ARNs (AWS), e-mail addresses (GCP), Entra ID object ids (Azure)."
  type        = list(string)
  default     = []
}

variable "enable_karpenter" {
  description = "Create Karpenter's IAM roles and interruption queue (AWS only)."
  type        = bool
  default     = false
}

variable "provision_network" {
  description = "Create a new network (false: use network_id)."
  type        = bool
  default     = true
}

variable "cidr_block" {
  description = "The new network's IPv4 range (GCP and Azure with network_id: the free range the cluster's subnet is carved from)."
  type        = string
  default     = "10.0.0.0/16"
}

variable "network_id" {
  description = "The existing network to use when provision_network is false."
  type        = string
  default     = null
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per availability zone (AWS)."
  type        = bool
  default     = false
}

variable "dns_enabled" {
  description = "Manage a DNS zone for the platform."
  type        = bool
  default     = false
}

variable "dns_zone_id" {
  description = "An existing DNS zone (null: create one for domain_name when dns_enabled)."
  type        = string
  default     = null
}

variable "domain_name" {
  description = "The platform's domain, e.g. dev.example.com."
  type        = string
  default     = null
}

variable "acm_certificate" {
  description = "Issue and validate an ACM certificate for domain_name and *.domain_name (AWS)."
  type        = bool
  default     = false
}
