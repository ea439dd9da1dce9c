//! Stripe's form encoding: `application/x-www-form-urlencoded` bodies whose keys nest with
//! brackets (`line_items[0][price_data][unit_amount]=1200`, `metadata[org_id]=42`,
//! `expand[]=customer`). Parsed once into a tree; handlers read it through [`Params`], whose
//! accessors name the offending parameter the way Stripe does (`line_items[0][quantity]`).

use std::collections::BTreeMap;

use super::error::ApiError;

/// One node of a decoded form: a leaf value or a map of children. Arrays are maps whose keys are
/// indices (`[]` appends the next index).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Value(String),
    Map(BTreeMap<String, Node>),
}

/// Decodes a form body (or query string) into a tree of parameters.
pub(crate) fn parse(body: &[u8]) -> Result<Node, ApiError> {
    let mut root = BTreeMap::new();
    for (key, value) in form_urlencoded::parse(body) {
        let path = split_key(&key).ok_or_else(|| {
            ApiError::invalid_request(format!("Invalid parameter name: {key}"), &key)
        })?;
        insert(&mut root, &path, value.into_owned()).map_err(|()| {
            ApiError::invalid_request(format!("Invalid nesting for parameter: {key}"), &key)
        })?;
    }
    Ok(Node::Map(root))
}

/// `a[b][0][]` -> `["a", "b", "0", ""]`; `None` for unbalanced brackets.
fn split_key(key: &str) -> Option<Vec<String>> {
    let (head, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if head.is_empty() {
        return None;
    }
    let mut path = vec![head.to_owned()];
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[')?;
        let close = inner.find(']')?;
        path.push(inner[..close].to_owned());
        rest = &inner[close + 1..];
    }
    Some(path)
}

fn insert(map: &mut BTreeMap<String, Node>, path: &[String], value: String) -> Result<(), ()> {
    let Some((first, rest)) = path.split_first() else {
        return Err(());
    };
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        if map.contains_key(&key) && matches!(map.get(&key), Some(Node::Map(_))) {
            return Err(());
        }
        map.insert(key, Node::Value(value));
        return Ok(());
    }
    let child = map.entry(key).or_insert_with(|| Node::Map(BTreeMap::new()));
    match child {
        Node::Map(children) => insert(children, rest, value),
        Node::Value(_) => Err(()),
    }
}

/// A view of one level of decoded parameters, remembering its Stripe-style name prefix so that
/// errors point at the exact parameter (`line_items[1][price_data][currency]`).
#[derive(Debug, Clone)]
pub(crate) struct Params<'a> {
    node: &'a Node,
    prefix: String,
}

impl<'a> Params<'a> {
    pub fn root(node: &'a Node) -> Self {
        Params {
            node,
            prefix: String::new(),
        }
    }

    /// The full Stripe name of a child parameter.
    pub fn name_of(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}[{key}]", self.prefix)
        }
    }

    fn child(&self, key: &str) -> Option<&'a Node> {
        match self.node {
            Node::Map(children) => children.get(key),
            Node::Value(_) => None,
        }
    }

    /// A string parameter; absent or empty is `None`.
    pub fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        match self.child(key) {
            None => Ok(None),
            Some(Node::Value(v)) if v.is_empty() => Ok(None),
            Some(Node::Value(v)) => Ok(Some(v.clone())),
            Some(Node::Map(_)) => Err(ApiError::invalid_request(
                format!("Invalid string: {} must be a string", self.name_of(key)),
                &self.name_of(key),
            )),
        }
    }

    pub fn required_string(&self, key: &str) -> Result<String, ApiError> {
        self.string(key)?
            .ok_or_else(|| ApiError::missing_param(&self.name_of(key)))
    }

    /// An integer parameter (Stripe sends amounts as decimal integers).
    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.string(key)? {
            None => Ok(None),
            Some(raw) => raw.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid_request(format!("Invalid integer: {raw}"), &self.name_of(key))
            }),
        }
    }

    pub fn boolean(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.string(key)?.as_deref() {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(raw) => Err(ApiError::invalid_request(
                format!("Invalid boolean: {raw}"),
                &self.name_of(key),
            )),
        }
    }

    /// A nested object parameter (`price_data[...]`), if present.
    pub fn object(&self, key: &str) -> Result<Option<Params<'a>>, ApiError> {
        match self.child(key) {
            None => Ok(None),
            Some(Node::Value(v)) if v.is_empty() => Ok(None),
            Some(node @ Node::Map(_)) => Ok(Some(Params {
                node,
                prefix: self.name_of(key),
            })),
            Some(Node::Value(_)) => Err(ApiError::invalid_request(
                format!("Invalid object: {} must be an object", self.name_of(key)),
                &self.name_of(key),
            )),
        }
    }

    /// Metadata: `metadata[k]=v` pairs. `Some(empty)` when explicitly cleared (`metadata=`), and
    /// empty values mean "unset this key" (returned as empty strings for the caller to apply).
    pub fn metadata(&self, key: &str) -> Result<Option<BTreeMap<String, String>>, ApiError> {
        match self.child(key) {
            None => Ok(None),
            Some(Node::Value(v)) if v.is_empty() => Ok(Some(BTreeMap::new())),
            Some(Node::Value(_)) => Err(ApiError::invalid_request(
                format!(
                    "Invalid hash: {} must be a set of key-value pairs",
                    self.name_of(key)
                ),
                &self.name_of(key),
            )),
            Some(Node::Map(children)) => {
                let mut out = BTreeMap::new();
                for (k, v) in children {
                    match v {
                        Node::Value(v) => {
                            out.insert(k.clone(), v.clone());
                        }
                        Node::Map(_) => {
                            return Err(ApiError::invalid_request(
                                format!("Invalid metadata value for key {k}: must be a string"),
                                &format!("{}[{k}]", self.name_of(key)),
                            ))
                        }
                    }
                }
                Ok(Some(out))
            }
        }
    }

    /// An array of objects (`line_items[0][...]`, `line_items[1][...]`) in index order.
    pub fn list(&self, key: &str) -> Result<Vec<Params<'a>>, ApiError> {
        let name = self.name_of(key);
        match self.child(key) {
            None => Ok(Vec::new()),
            Some(Node::Value(v)) if v.is_empty() => Ok(Vec::new()),
            Some(Node::Value(_)) => Err(ApiError::invalid_request(
                format!("Invalid array: {name} must be an array"),
                &name,
            )),
            Some(Node::Map(children)) => {
                let mut items = Vec::with_capacity(children.len());
                for (index, node) in children {
                    let position = index.parse::<usize>().map_err(|_| {
                        ApiError::invalid_request(
                            format!("Invalid array: {name} must be an array"),
                            &name,
                        )
                    })?;
                    items.push((position, node));
                }
                items.sort_by_key(|(position, _)| *position);
                Ok(items
                    .into_iter()
                    .map(|(position, node)| Params {
                        node,
                        prefix: format!("{name}[{position}]"),
                    })
                    .collect())
            }
        }
    }

    /// Values of a string array such as `expand[]=a&expand[]=b`.
    pub fn strings(&self, key: &str) -> Vec<String> {
        match self.child(key) {
            Some(Node::Map(children)) => {
                let mut items: Vec<(usize, String)> = children
                    .iter()
                    .filter_map(|(i, n)| match n {
                        Node::Value(v) => Some((i.parse().unwrap_or(usize::MAX), v.clone())),
                        Node::Map(_) => None,
                    })
                    .collect();
                items.sort();
                items.into_iter().map(|(_, v)| v).collect()
            }
            Some(Node::Value(v)) if !v.is_empty() => vec![v.clone()],
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_brackets_arrays_and_metadata_decode() {
        let body =
            b"mode=payment&line_items[0][price_data][unit_amount]=1200&line_items[0][quantity]=2\
&line_items%5B1%5D%5Bquantity%5D=1&metadata[org_id]=42&expand[]=customer&expand[]=payment_intent";
        let tree = parse(body).expect("valid form");
        let params = Params::root(&tree);
        assert_eq!(
            params.string("mode").ok().flatten().as_deref(),
            Some("payment")
        );
        let items = params.list("line_items").expect("list");
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].name_of("quantity"), "line_items[0][quantity]");
        assert_eq!(items[0].integer("quantity").ok().flatten(), Some(2));
        let price = items[0]
            .object("price_data")
            .ok()
            .flatten()
            .expect("price_data");
        assert_eq!(price.integer("unit_amount").ok().flatten(), Some(1200));
        let metadata = params
            .metadata("metadata")
            .ok()
            .flatten()
            .expect("metadata");
        assert_eq!(metadata.get("org_id").map(String::as_str), Some("42"));
        assert_eq!(params.strings("expand"), vec!["customer", "payment_intent"]);
    }

    #[test]
    fn malformed_input_is_an_error_not_a_panic() {
        assert!(parse(b"a=1&a[b]=2").is_err());
        assert!(parse(b"a[b]=1&a=2").is_err());
        assert!(parse(b"[x]=1").is_err());
        assert!(parse(b"a[b=1").is_err());
        let tree = parse(b"amount=12x").expect("parses");
        assert!(Params::root(&tree).integer("amount").is_err());
    }
}
