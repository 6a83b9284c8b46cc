# DNS: a Route 53 hosted zone for domain_name (unless an existing zone is given) and an ACM
# certificate for domain_name and *.domain_name, validated through it.

locals {
  create_zone = var.dns_enabled && var.dns_zone_id == null
  dns_zone_id = var.dns_enabled ? (local.create_zone ? aws_route53_zone.this[0].zone_id : var.dns_zone_id) : null
}

resource "aws_route53_zone" "this" {
  count = local.create_zone ? 1 : 0

  name    = var.domain_name
  comment = "Vintner vine ${local.name}"
}

resource "aws_acm_certificate" "this" {
  count = var.acm_certificate ? 1 : 0

  domain_name               = var.domain_name
  subject_alternative_names = ["*.${var.domain_name}"]
  validation_method         = "DNS"

  lifecycle {
    create_before_destroy = true
  }
}

# The apex and the wildcard share one validation record: allow_overwrite lets both write it.
# The keys are the (known) names; the records are only known once the certificate exists.
locals {
  certificate_names = var.acm_certificate ? toset([var.domain_name, "*.${var.domain_name}"]) : toset([])
  certificate_validation = {
    for option in flatten(aws_acm_certificate.this[*].domain_validation_options) :
    option.domain_name => option
  }
}

resource "aws_route53_record" "certificate_validation" {
  for_each = local.certificate_names

  zone_id         = local.dns_zone_id
  name            = local.certificate_validation[each.key].resource_record_name
  type            = local.certificate_validation[each.key].resource_record_type
  records         = [local.certificate_validation[each.key].resource_record_value]
  ttl             = 60
  allow_overwrite = true
}

resource "aws_acm_certificate_validation" "this" {
  count = var.acm_certificate ? 1 : 0

  certificate_arn         = aws_acm_certificate.this[0].arn
  validation_record_fqdns = [for record in aws_route53_record.certificate_validation : record.fqdn]
}
