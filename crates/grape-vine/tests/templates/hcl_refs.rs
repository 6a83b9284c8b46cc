//! What a template set declares and what it references, read with an HCL parser (hcl-rs).

use std::collections::BTreeSet;

use grape_vine::TemplateSet;
use hcl::expr::{Expression, ObjectKey, TraversalOperator};
use hcl::template::{Directive, Element, Template};
use hcl::{Block, BlockLabel, Body, Structure};

/// Declarations and references of one template set.
#[derive(Debug, Default)]
pub struct Index {
    pub variables: BTreeSet<String>,
    /// Variables without a default.
    pub required_variables: BTreeSet<String>,
    pub locals: BTreeSet<String>,
    /// `TYPE.NAME` of managed resources.
    pub resources: BTreeSet<String>,
    /// `TYPE.NAME` of data sources.
    pub data: BTreeSet<String>,
    pub outputs: BTreeSet<String>,
    /// Provider names of `required_providers`.
    pub providers: BTreeSet<String>,
    pub var_refs: BTreeSet<String>,
    pub local_refs: BTreeSet<String>,
    pub data_refs: BTreeSet<String>,
    pub resource_refs: BTreeSet<String>,
}

fn label(b: &Block, i: usize) -> String {
    match &b.labels[i] {
        BlockLabel::Identifier(id) => id.to_string(),
        BlockLabel::String(s) => s.clone(),
    }
}

/// Parses every `.tf` file of `set` (panics naming the file that does not parse).
pub fn index(set: TemplateSet) -> Index {
    let mut ix = Index::default();
    for file in set.files() {
        if std::path::Path::new(file.name)
            .extension()
            .is_none_or(|e| e != "tf")
        {
            continue;
        }
        let body: Body = hcl::from_str(file.contents)
            .unwrap_or_else(|e| panic!("{}/{}: not HCL: {e}", set.name(), file.name));
        for s in &body {
            match s {
                Structure::Block(b) => declare(&mut ix, b),
                Structure::Attribute(a) => panic!("top-level attribute {}", a.key),
            }
        }
        walk_body(&mut ix, &body);
    }
    ix
}

fn declare(ix: &mut Index, b: &Block) {
    match b.identifier.as_str() {
        "variable" => {
            let name = label(b, 0);
            let has_default = b
                .body
                .iter()
                .any(|s| matches!(s, Structure::Attribute(a) if a.key.as_str() == "default"));
            if !has_default {
                ix.required_variables.insert(name.clone());
            }
            ix.variables.insert(name);
        }
        "locals" => {
            for s in &b.body {
                if let Structure::Attribute(a) = s {
                    ix.locals.insert(a.key.to_string());
                }
            }
        }
        "resource" => {
            ix.resources
                .insert(format!("{}.{}", label(b, 0), label(b, 1)));
        }
        "data" => {
            ix.data.insert(format!("{}.{}", label(b, 0), label(b, 1)));
        }
        "output" => {
            ix.outputs.insert(label(b, 0));
        }
        "terraform" => {
            for s in &b.body {
                if let Structure::Block(rp) = s
                    && rp.identifier.as_str() == "required_providers"
                {
                    for p in &rp.body {
                        if let Structure::Attribute(a) = p {
                            ix.providers.insert(a.key.to_string());
                        }
                    }
                }
            }
        }
        "provider" => {}
        other => panic!("unexpected top-level block {other}"),
    }
}

fn walk_body(ix: &mut Index, body: &Body) {
    for s in body {
        match s {
            Structure::Attribute(a) => walk(ix, &a.expr),
            Structure::Block(b) => walk_body(ix, &b.body),
        }
    }
}

fn attr(op: Option<&TraversalOperator>) -> Option<String> {
    match op {
        Some(TraversalOperator::GetAttr(id)) => Some(id.to_string()),
        _ => None,
    }
}

fn walk(ix: &mut Index, e: &Expression) {
    match e {
        Expression::Traversal(t) => {
            if let Expression::Variable(root) = &t.expr {
                let root = root.as_str();
                let first = attr(t.operators.first());
                let second = attr(t.operators.get(1));
                match (root, first, second) {
                    ("var", Some(name), _) => {
                        ix.var_refs.insert(name);
                    }
                    ("local", Some(name), _) => {
                        ix.local_refs.insert(name);
                    }
                    ("data", Some(ty), Some(name)) => {
                        ix.data_refs.insert(format!("{ty}.{name}"));
                    }
                    (ty, Some(name), _) if is_resource_type(ty) => {
                        ix.resource_refs.insert(format!("{ty}.{name}"));
                    }
                    _ => {}
                }
            }
            walk(ix, &t.expr);
            for op in &t.operators {
                if let TraversalOperator::Index(i) = op {
                    walk(ix, i);
                }
            }
        }
        Expression::Array(items) => items.iter().for_each(|i| walk(ix, i)),
        Expression::Object(obj) => {
            for (k, v) in obj {
                if let ObjectKey::Expression(k) = k {
                    walk(ix, k);
                }
                walk(ix, v);
            }
        }
        Expression::TemplateExpr(t) => {
            let template = Template::from_expr(t).expect("template parses");
            walk_template(ix, &template);
        }
        Expression::FuncCall(f) => f.args.iter().for_each(|a| walk(ix, a)),
        Expression::Parenthesis(p) => walk(ix, p),
        Expression::Conditional(c) => {
            walk(ix, &c.cond_expr);
            walk(ix, &c.true_expr);
            walk(ix, &c.false_expr);
        }
        Expression::Operation(op) => match op.as_ref() {
            hcl::expr::Operation::Unary(u) => walk(ix, &u.expr),
            hcl::expr::Operation::Binary(b) => {
                walk(ix, &b.lhs_expr);
                walk(ix, &b.rhs_expr);
            }
        },
        Expression::ForExpr(f) => {
            walk(ix, &f.collection_expr);
            if let Some(k) = &f.key_expr {
                walk(ix, k);
            }
            walk(ix, &f.value_expr);
            if let Some(c) = &f.cond_expr {
                walk(ix, c);
            }
        }
        _ => {}
    }
}

fn walk_template(ix: &mut Index, t: &Template) {
    for el in t.elements() {
        match el {
            Element::Literal(_) => {}
            Element::Interpolation(i) => walk(ix, &i.expr),
            Element::Directive(d) => match d.as_ref() {
                Directive::If(i) => {
                    walk(ix, &i.cond_expr);
                    walk_template(ix, &i.true_template);
                    if let Some(f) = &i.false_template {
                        walk_template(ix, f);
                    }
                }
                Directive::For(f) => {
                    walk(ix, &f.collection_expr);
                    walk_template(ix, &f.template);
                }
            },
        }
    }
}

fn is_resource_type(root: &str) -> bool {
    ["aws_", "google_", "azurerm_", "terraform_"]
        .iter()
        .any(|p| root.starts_with(p))
}
