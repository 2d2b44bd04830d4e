//! XML for SAML, written here: a small document tree, Exclusive XML Canonicalization 1.0,
//! and the verification of enveloped XML signatures with RSA keys.
//!
//! Facts from the specifications this follows:
//! - *Exclusive XML Canonicalization 1.0* (W3C Recommendation, 18 July 2002,
//!   `http://www.w3.org/2001/10/xml-exc-c14n#` and `…#WithComments`): a namespace
//!   declaration is output on an element only where the element or one of its attributes
//!   *visibly utilizes* its prefix (or the prefix is in the `InclusiveNamespaces`
//!   `PrefixList`, then treated as Canonical XML treats it) and the nearest output ancestor
//!   did not already output the same declaration; `xmlns=""` is output only to undo an output
//!   ancestor's default namespace.
//! - *Canonical XML 1.0* (W3C, 15 March 2001), which it builds on: namespace declarations
//!   sorted by prefix (the default first), then attributes sorted by namespace URI (none
//!   first) and local name; empty elements as start/end pairs; text escaped `&amp;` `&lt;`
//!   `&gt;` `&#xD;`, attribute values `&amp;` `&lt;` `&quot;` `&#x9;` `&#xA;` `&#xD;`; CDATA
//!   as its text; comments only in the `WithComments` variants; the XML declaration and
//!   DTD dropped.
//! - *XML Signature Syntax and Processing* (W3C, second edition 2008): `Reference URI="#id"`
//!   selects the element with that ID and its descendants *without comments*; the
//!   enveloped-signature transform removes the `Signature` element holding the reference;
//!   `SignedInfo` is canonicalized with its `CanonicalizationMethod`, and the
//!   `SignatureValue` is the PKCS #1 v1.5 signature of that octet string.
//! - *SAML 2.0 Core* §5.4 (signature profile): enveloped signatures, a single `Reference`
//!   whose URI names the ID of the signed element, Exclusive Canonicalization.
//!
//! DTDs are refused (no entity expansion, no external entities), as SAML's profiles allow.

use base64::Engine;

pub(crate) const NS_DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";
const NS_EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const EXC_C14N_COMMENTS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#WithComments";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";

/// Bounds on what one document may hold (a SAML response is a few KB).
const MAX_DEPTH: usize = 64;
const MAX_NODES: usize = 50_000;
/// Attributes (namespace declarations included) on one element: duplicates are checked
/// pairwise, so the count is bounded.
const MAX_ATTRS: usize = 256;

/// Why a document or a signature was refused (the caller maps it onto AWS's error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum XmlError {
    /// Not well-formed, a DTD, an unbound prefix, too deep or too large.
    Malformed(String),
    /// The signature's structure, algorithms or values are not acceptable, or it does not
    /// verify.
    BadSignature(String),
}

fn malformed(why: impl Into<String>) -> XmlError {
    XmlError::Malformed(why.into())
}

fn bad(why: impl Into<String>) -> XmlError {
    XmlError::BadSignature(why.into())
}

#[derive(Debug, Clone)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
    Comment(String),
    Pi { target: String, content: String },
}

#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub parent: Option<usize>,
    pub prefix: String,
    pub local: String,
    /// The element's namespace URI ("" for none).
    pub ns: String,
    /// The namespace declarations on this element (prefix "" is the default namespace; a
    /// value "" undeclares it).
    pub decls: Vec<(String, String)>,
    /// Attributes other than namespace declarations, in document order.
    pub attrs: Vec<Attr>,
    pub children: Vec<usize>,
}

#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub prefix: String,
    pub local: String,
    pub ns: String,
    /// The normalized value (references resolved, whitespace normalized as XML 1.0 §3.3.3).
    pub value: String,
}

/// A parsed document: nodes in document order, the root element's index.
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub nodes: Vec<Node>,
    pub root: usize,
}

fn split_qname(name: &str) -> (&str, &str) {
    match name.split_once(':') {
        Some((p, l)) => (p, l),
        None => ("", name),
    }
}

fn predefined(name: &str) -> Option<char> {
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        _ => return None,
    })
}

impl Doc {
    /// Parses `xml` (UTF-8). Refuses DTDs, unbound prefixes, several roots, and documents
    /// over the bounds.
    pub(crate) fn parse(xml: &str) -> Result<Doc, XmlError> {
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(xml);
        let mut nodes: Vec<Node> = Vec::new();
        let mut stack: Vec<usize> = Vec::new();
        let mut root: Option<usize> = None;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| malformed(format!("not well-formed: {e}")))?;
            if nodes.len() > MAX_NODES {
                return Err(malformed("too many nodes"));
            }
            match event {
                Event::Start(e) | Event::Empty(e) if stack.is_empty() && root.is_some() => {
                    let _ = e;
                    return Err(malformed("more than one root element"));
                }
                Event::Start(e) => {
                    let idx = Self::open(&mut nodes, stack.last().copied(), &e)?;
                    if root.is_none() {
                        root = Some(idx);
                    }
                    stack.push(idx);
                    if stack.len() > MAX_DEPTH {
                        return Err(malformed("too deep"));
                    }
                }
                Event::Empty(e) => {
                    let idx = Self::open(&mut nodes, stack.last().copied(), &e)?;
                    if root.is_none() {
                        root = Some(idx);
                    }
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    let text = t.xml10_content();
                    Self::text(&mut nodes, stack.last().copied(), &text)?;
                }
                Event::CData(t) => {
                    let text = t.xml10_content();
                    Self::text(&mut nodes, stack.last().copied(), &text)?;
                }
                Event::GeneralRef(r) => {
                    let c = match r
                        .resolve_char_ref()
                        .map_err(|e| malformed(format!("bad character reference: {e}")))?
                    {
                        Some(c) => c,
                        None => predefined(&r.xml10_content())
                            .ok_or_else(|| malformed("undeclared entity"))?,
                    };
                    Self::text(
                        &mut nodes,
                        stack.last().copied(),
                        c.encode_utf8(&mut [0; 4]),
                    )?;
                }
                Event::Comment(t) => {
                    if let Some(&parent) = stack.last() {
                        let idx = nodes.len();
                        nodes.push(Node::Comment(t.xml10_content().into_owned()));
                        Self::adopt(&mut nodes, parent, idx);
                    }
                }
                Event::PI(p) => {
                    if let Some(&parent) = stack.last() {
                        let idx = nodes.len();
                        nodes.push(Node::Pi {
                            target: p.target().to_owned(),
                            content: p.content().trim_start().to_owned(),
                        });
                        Self::adopt(&mut nodes, parent, idx);
                    }
                }
                Event::DocType(_) => return Err(malformed("DTDs are not accepted")),
                Event::Decl(_) => {}
                Event::Eof => break,
            }
        }
        if !stack.is_empty() {
            return Err(malformed("unclosed element"));
        }
        let root = root.ok_or_else(|| malformed("no root element"))?;
        Ok(Doc { nodes, root })
    }

    fn adopt(nodes: &mut [Node], parent: usize, child: usize) {
        if let Some(Node::Element(p)) = nodes.get_mut(parent) {
            p.children.push(child);
        }
    }

    fn text(nodes: &mut Vec<Node>, parent: Option<usize>, text: &str) -> Result<(), XmlError> {
        let Some(parent) = parent else {
            // Outside the root only whitespace may stand (and is not part of any subtree).
            if text.chars().all(|c| matches!(c, ' ' | '\t' | '\n' | '\r')) {
                return Ok(());
            }
            return Err(malformed("text outside the root element"));
        };
        let last = match nodes.get(parent) {
            Some(Node::Element(p)) => p.children.last().copied(),
            _ => None,
        };
        if let Some(last) = last
            && let Some(Node::Text(t)) = nodes.get_mut(last)
        {
            t.push_str(text);
            return Ok(());
        }
        let idx = nodes.len();
        nodes.push(Node::Text(text.to_owned()));
        Self::adopt(nodes, parent, idx);
        Ok(())
    }

    fn open(
        nodes: &mut Vec<Node>,
        parent: Option<usize>,
        e: &quick_xml::events::BytesStart<'_>,
    ) -> Result<usize, XmlError> {
        let name: String = e.name().as_ref().to_owned();
        let mut decls = Vec::new();
        let mut raw_attrs = Vec::new();
        for (i, a) in e.attributes().enumerate() {
            if i >= MAX_ATTRS {
                return Err(malformed("too many attributes"));
            }
            let a = a.map_err(|e| malformed(format!("bad attribute: {e}")))?;
            let key: String = a.key.as_ref().to_owned();
            let value = a
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| malformed(format!("bad attribute value: {e}")))?
                .into_owned();
            if key == "xmlns" {
                decls.push((String::new(), value));
            } else if let Some(p) = key.strip_prefix("xmlns:") {
                if value.is_empty() {
                    return Err(malformed("a prefix cannot be undeclared in XML 1.0"));
                }
                decls.push((p.to_owned(), value));
            } else {
                raw_attrs.push((key, value));
            }
        }
        let resolve = |nodes: &[Node], prefix: &str| -> Option<String> {
            if prefix == "xml" {
                return Some(NS_XML.to_owned());
            }
            if let Some((_, v)) = decls.iter().find(|(p, _)| p == prefix) {
                return Some(v.clone());
            }
            let mut at = parent;
            while let Some(i) = at {
                let Some(Node::Element(el)) = nodes.get(i) else {
                    break;
                };
                if let Some((_, v)) = el.decls.iter().find(|(p, _)| p == prefix) {
                    return Some(v.clone());
                }
                at = el.parent;
            }
            None
        };
        let (prefix, local) = split_qname(&name);
        let ns = match resolve(nodes, prefix) {
            Some(ns) => ns,
            None if prefix.is_empty() => String::new(),
            None => return Err(malformed(format!("unbound prefix {prefix}"))),
        };
        let mut attrs = Vec::with_capacity(raw_attrs.len());
        for (key, value) in raw_attrs {
            let (p, l) = split_qname(&key);
            let ans = if p.is_empty() {
                String::new()
            } else {
                resolve(nodes, p).ok_or_else(|| malformed(format!("unbound prefix {p}")))?
            };
            if attrs.iter().any(|x: &Attr| x.ns == ans && x.local == l) {
                return Err(malformed("duplicate attribute"));
            }
            attrs.push(Attr {
                prefix: p.to_owned(),
                local: l.to_owned(),
                ns: ans,
                value,
            });
        }
        let idx = nodes.len();
        nodes.push(Node::Element(Element {
            parent,
            prefix: prefix.to_owned(),
            local: local.to_owned(),
            ns,
            decls,
            attrs,
            children: Vec::new(),
        }));
        if let Some(parent) = parent {
            Self::adopt(nodes, parent, idx);
        }
        Ok(idx)
    }

    pub(crate) fn element(&self, idx: usize) -> Option<&Element> {
        match self.nodes.get(idx) {
            Some(Node::Element(e)) => Some(e),
            _ => None,
        }
    }

    /// Whether node `idx` is the element `{ns}local`.
    pub(crate) fn is(&self, idx: usize, ns: &str, local: &str) -> bool {
        self.element(idx)
            .is_some_and(|e| e.ns == ns && e.local == local)
    }

    /// The child elements of `idx`.
    pub(crate) fn child_elements(&self, idx: usize) -> impl Iterator<Item = usize> + '_ {
        self.element(idx)
            .map(|e| e.children.as_slice())
            .unwrap_or_default()
            .iter()
            .copied()
            .filter(|c| self.element(*c).is_some())
    }

    /// The child elements of `idx` named `{ns}local`.
    pub(crate) fn children_named<'a>(
        &'a self,
        idx: usize,
        ns: &'a str,
        local: &'a str,
    ) -> impl Iterator<Item = usize> + 'a {
        self.child_elements(idx)
            .filter(move |c| self.is(*c, ns, local))
    }

    /// The only child `{ns}local` of `idx`; `None` when there is none or more than one.
    pub(crate) fn only_child(&self, idx: usize, ns: &str, local: &str) -> Option<usize> {
        let mut it = self.children_named(idx, ns, local);
        let first = it.next()?;
        it.next().is_none().then_some(first)
    }

    /// An attribute without namespace.
    pub(crate) fn attr(&self, idx: usize, local: &str) -> Option<&str> {
        self.element(idx)?
            .attrs
            .iter()
            .find(|a| a.ns.is_empty() && a.local == local)
            .map(|a| a.value.as_str())
    }

    /// The text content of `idx` (its descendants' text, concatenated).
    pub(crate) fn text_of(&self, idx: usize) -> String {
        let mut out = String::new();
        self.collect_text(idx, &mut out, 0);
        out
    }

    fn collect_text(&self, idx: usize, out: &mut String, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match self.nodes.get(idx) {
            Some(Node::Text(t)) => out.push_str(t),
            Some(Node::Element(e)) => {
                for c in &e.children {
                    self.collect_text(*c, out, depth + 1);
                }
            }
            _ => {}
        }
    }

    /// Every element in document order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.nodes.len()).filter(|i| self.element(*i).is_some())
    }

    /// The URI `prefix` is bound to in scope at `idx` ("" for the default namespace);
    /// `None` when unbound (the default namespace undeclared counts as unbound).
    fn in_scope(&self, idx: usize, prefix: &str) -> Option<&str> {
        if prefix == "xml" {
            return Some(NS_XML);
        }
        let mut at = Some(idx);
        while let Some(i) = at {
            let e = self.element(i)?;
            if let Some((_, v)) = e.decls.iter().find(|(p, _)| p == prefix) {
                return (!v.is_empty()).then_some(v.as_str());
            }
            at = e.parent;
        }
        None
    }

    /// Whether `ancestor` is `idx` or one of its ancestors.
    pub(crate) fn contains(&self, ancestor: usize, idx: usize) -> bool {
        let mut at = Some(idx);
        while let Some(i) = at {
            if i == ancestor {
                return true;
            }
            at = self.element(i).and_then(|e| e.parent);
        }
        false
    }
}

/// How to canonicalize: Exclusive XML Canonicalization, with or without comments, the
/// `InclusiveNamespaces` prefixes ("" for `#default`), and a subtree to leave out (the
/// enveloped signature).
#[derive(Debug, Clone, Default)]
pub(crate) struct ExcC14n {
    pub comments: bool,
    pub inclusive: Vec<String>,
    pub exclude: Option<usize>,
}

impl ExcC14n {
    /// The canonical form of the subtree at `apex`.
    pub(crate) fn canonicalize(&self, doc: &Doc, apex: usize) -> String {
        let mut out = String::new();
        self.node(doc, apex, &[], &mut out, 0);
        out
    }

    fn node(
        &self,
        doc: &Doc,
        idx: usize,
        rendered: &[(String, String)],
        out: &mut String,
        depth: usize,
    ) {
        if Some(idx) == self.exclude || depth > MAX_DEPTH {
            return;
        }
        match doc.nodes.get(idx) {
            Some(Node::Element(e)) => self.element(doc, idx, e, rendered, out, depth),
            Some(Node::Text(t)) => escape_text(t, out),
            Some(Node::Comment(c)) if self.comments => {
                out.push_str("<!--");
                out.push_str(c);
                out.push_str("-->");
            }
            Some(Node::Pi { target, content }) => {
                out.push_str("<?");
                out.push_str(target);
                if !content.is_empty() {
                    out.push(' ');
                    out.push_str(content);
                }
                out.push_str("?>");
            }
            _ => {}
        }
    }

    fn element(
        &self,
        doc: &Doc,
        idx: usize,
        e: &Element,
        rendered: &[(String, String)],
        out: &mut String,
        depth: usize,
    ) {
        // The prefixes this element visibly utilizes, and the inclusive ones in scope.
        let mut wanted: Vec<&str> = vec![e.prefix.as_str()];
        for a in &e.attrs {
            if !a.prefix.is_empty() {
                wanted.push(&a.prefix);
            }
        }
        for p in &self.inclusive {
            if doc.in_scope(idx, p).is_some() {
                wanted.push(p);
            }
        }
        let mut decls: Vec<(String, String)> = Vec::new();
        for p in wanted {
            if p == "xml" || decls.iter().any(|(q, _)| q == p) {
                continue;
            }
            let uri = doc.in_scope(idx, p).unwrap_or("");
            let before = rendered
                .iter()
                .rev()
                .find(|(q, _)| q == p)
                .map_or("", |(_, u)| u.as_str());
            if before != uri {
                decls.push((p.to_owned(), uri.to_owned()));
            }
        }
        decls.sort();
        out.push('<');
        push_qname(out, &e.prefix, &e.local);
        for (p, uri) in &decls {
            if p.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
            escape_attr(uri, out);
            out.push('"');
        }
        let mut attrs: Vec<&Attr> = e.attrs.iter().collect();
        attrs.sort_by(|a, b| (&a.ns, &a.local).cmp(&(&b.ns, &b.local)));
        for a in attrs {
            out.push(' ');
            push_qname(out, &a.prefix, &a.local);
            out.push_str("=\"");
            escape_attr(&a.value, out);
            out.push('"');
        }
        out.push('>');
        let mut inner: Vec<(String, String)> = rendered.to_vec();
        inner.extend(decls);
        for c in &e.children {
            self.node(doc, *c, &inner, out, depth + 1);
        }
        out.push_str("</");
        push_qname(out, &e.prefix, &e.local);
        out.push('>');
    }
}

fn push_qname(out: &mut String, prefix: &str, local: &str) {
    if !prefix.is_empty() {
        out.push_str(prefix);
        out.push(':');
    }
    out.push_str(local);
}

fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

pub(crate) use crate::x509::RsaKey;

/// A hash the signature profile allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha256,
    Sha512,
}

impl Hash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        use rsa::sha2::Digest as _;
        match self {
            Hash::Sha1 => {
                use sha1::Digest as _;
                sha1::Sha1::digest(data).to_vec()
            }
            Hash::Sha256 => rsa::sha2::Sha256::digest(data).to_vec(),
            Hash::Sha512 => rsa::sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// PKCS #1 v1.5 padding with the hash's DigestInfo prefix (RFC 8017 §9.2, note 1).
    fn padding(self) -> rsa::Pkcs1v15Sign {
        match self {
            Hash::Sha1 => rsa::Pkcs1v15Sign {
                hash_len: Some(20),
                prefix: Box::new([
                    0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00,
                    0x04, 0x14,
                ]),
            },
            Hash::Sha256 => rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha256>(),
            Hash::Sha512 => rsa::Pkcs1v15Sign::new::<rsa::sha2::Sha512>(),
        }
    }
}

/// Digest algorithms (XML Signature §6.2; `xmlenc#sha256` / `#sha512` from XML Encryption
/// and RFC 6931).
fn digest_method(uri: &str) -> Option<Hash> {
    Some(match uri {
        "http://www.w3.org/2000/09/xmldsig#sha1" => Hash::Sha1,
        "http://www.w3.org/2001/04/xmlenc#sha256" => Hash::Sha256,
        "http://www.w3.org/2001/04/xmlenc#sha512" => Hash::Sha512,
        _ => return None,
    })
}

/// Signature algorithms (XML Signature §6.4.2; RFC 6931 §2.3.2).
fn signature_method(uri: &str) -> Option<Hash> {
    Some(match uri {
        "http://www.w3.org/2000/09/xmldsig#rsa-sha1" => Hash::Sha1,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Hash::Sha256,
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Hash::Sha512,
        _ => return None,
    })
}

/// The canonicalization a `CanonicalizationMethod` or `Transform` element names (only the
/// exclusive ones), with its `InclusiveNamespaces` prefixes.
fn c14n_of(doc: &Doc, method: usize) -> Option<ExcC14n> {
    let comments = match doc.attr(method, "Algorithm")? {
        EXC_C14N => false,
        EXC_C14N_COMMENTS => true,
        _ => return None,
    };
    let inclusive = doc
        .children_named(method, NS_EXC_C14N, "InclusiveNamespaces")
        .next()
        .and_then(|i| doc.attr(i, "PrefixList"))
        .map(|list| {
            list.split_ascii_whitespace()
                .map(|p| if p == "#default" { "" } else { p }.to_owned())
                .collect()
        })
        .unwrap_or_default();
    Some(ExcC14n {
        comments,
        inclusive,
        exclude: None,
    })
}

fn b64(text: &str) -> Option<Vec<u8>> {
    let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// The elements whose `ID` attribute is `id`.
pub(crate) fn by_id<'a>(doc: &'a Doc, id: &'a str) -> impl Iterator<Item = usize> + 'a {
    doc.elements()
        .filter(move |e| doc.attr(*e, "ID") == Some(id))
}

/// Verifies the enveloped signature `sig` (a `ds:Signature` element): one `Reference` to the
/// ID of the signature's parent element, the enveloped-signature and an exclusive
/// canonicalization transform, the digest of that element, and the signature of
/// `SignedInfo` by one of `keys`. Answers the element it covers (the parent).
pub(crate) fn verify_enveloped(doc: &Doc, sig: usize, keys: &[RsaKey]) -> Result<usize, XmlError> {
    if !doc.is(sig, NS_DSIG, "Signature") {
        return Err(bad("not a ds:Signature"));
    }
    let parent = doc
        .element(sig)
        .and_then(|e| e.parent)
        .ok_or_else(|| bad("the signature envelops nothing"))?;
    let signed_info = doc
        .only_child(sig, NS_DSIG, "SignedInfo")
        .ok_or_else(|| bad("no SignedInfo"))?;
    let c14n_method = doc
        .only_child(signed_info, NS_DSIG, "CanonicalizationMethod")
        .ok_or_else(|| bad("no CanonicalizationMethod"))?;
    let signed_info_c14n =
        c14n_of(doc, c14n_method).ok_or_else(|| bad("unsupported canonicalization"))?;
    let hash = doc
        .only_child(signed_info, NS_DSIG, "SignatureMethod")
        .and_then(|m| doc.attr(m, "Algorithm"))
        .and_then(signature_method)
        .ok_or_else(|| bad("unsupported signature method"))?;
    let reference = doc
        .only_child(signed_info, NS_DSIG, "Reference")
        .ok_or_else(|| bad("exactly one Reference is required"))?;
    // The reference: `#<ID of the parent>`, that ID naming exactly one element.
    let uri = doc.attr(reference, "URI").unwrap_or("");
    let id = uri
        .strip_prefix('#')
        .filter(|id| !id.is_empty())
        .ok_or_else(|| bad("the Reference must name an ID"))?;
    let mut targets = by_id(doc, id);
    let target = targets
        .next()
        .ok_or_else(|| bad("the Reference names no element"))?;
    if targets.next().is_some() {
        return Err(bad("the Reference's ID is not unique"));
    }
    if target != parent {
        return Err(bad("the Reference does not name the signed element"));
    }
    // Transforms: enveloped-signature, then an exclusive canonicalization.
    let transforms: Vec<usize> = match doc.only_child(reference, NS_DSIG, "Transforms") {
        Some(t) => doc.children_named(t, NS_DSIG, "Transform").collect(),
        None => Vec::new(),
    };
    let mut enveloped = false;
    let mut reference_c14n: Option<ExcC14n> = None;
    for t in transforms {
        match doc.attr(t, "Algorithm") {
            Some(ENVELOPED) if !enveloped && reference_c14n.is_none() => enveloped = true,
            Some(_) if reference_c14n.is_none() => {
                reference_c14n = Some(c14n_of(doc, t).ok_or_else(|| bad("unsupported transform"))?);
            }
            _ => return Err(bad("unsupported transforms")),
        }
    }
    let mut reference_c14n =
        reference_c14n.ok_or_else(|| bad("an exclusive canonicalization is required"))?;
    if !enveloped {
        return Err(bad("the signature must be enveloped"));
    }
    // A same-document reference selects the element without comments (XML Signature
    // §4.3.3.3), whichever canonicalization follows.
    reference_c14n.comments = false;
    reference_c14n.exclude = Some(sig);
    let digest_hash = doc
        .only_child(reference, NS_DSIG, "DigestMethod")
        .and_then(|m| doc.attr(m, "Algorithm"))
        .and_then(digest_method)
        .ok_or_else(|| bad("unsupported digest method"))?;
    let digest_value = doc
        .only_child(reference, NS_DSIG, "DigestValue")
        .and_then(|d| b64(&doc.text_of(d)))
        .ok_or_else(|| bad("no DigestValue"))?;
    let canonical = reference_c14n.canonicalize(doc, target);
    if digest_hash.digest(canonical.as_bytes()) != digest_value {
        return Err(bad("digest mismatch"));
    }
    let signature = doc
        .only_child(sig, NS_DSIG, "SignatureValue")
        .and_then(|v| b64(&doc.text_of(v)))
        .ok_or_else(|| bad("no SignatureValue"))?;
    let signed = signed_info_c14n.canonicalize(doc, signed_info);
    let hashed = hash.digest(signed.as_bytes());
    if keys
        .iter()
        .any(|k| rsa_verify(k, hash, &hashed, &signature))
    {
        Ok(target)
    } else {
        Err(bad("no trusted key verifies the signature"))
    }
}

fn rsa_verify(key: &RsaKey, hash: Hash, hashed: &[u8], signature: &[u8]) -> bool {
    let bits = |b: &[u8]| u32::try_from(b.len() * 8).unwrap_or(u32::MAX);
    let (Ok(n), Ok(e)) = (
        rsa::BoxedUint::from_be_slice(&key.n, bits(&key.n)),
        rsa::BoxedUint::from_be_slice(&key.e, bits(&key.e).max(32)),
    ) else {
        return false;
    };
    let Ok(public) = rsa::PublicKey::new(n, e) else {
        return false;
    };
    public.verify(hash.padding(), hashed, signature).is_ok()
}

/// The RSA public key of an X.509 certificate (DER); `None` for anything else.
pub(crate) fn certificate_rsa_key(der: &[u8]) -> Option<RsaKey> {
    match crate::x509::parse_certificate(der)?.key {
        crate::x509::PublicKey::Rsa(k) => Some(k),
        _ => None,
    }
}

/// The key of a base64 DER certificate as metadata carries it.
pub(crate) fn certificate_key_b64(cert: &str) -> Option<RsaKey> {
    certificate_rsa_key(&b64(cert)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exc(xml: &str, apex_local: &str) -> String {
        let doc = Doc::parse(xml).unwrap();
        let apex = doc
            .elements()
            .find(|e| doc.element(*e).unwrap().local == apex_local)
            .unwrap();
        ExcC14n::default().canonicalize(&doc, apex)
    }

    /// Exclusive XML Canonicalization 1.0, §2.2: the same subtree in two contexts
    /// canonicalizes alike (inclusive C14N would import `xml:space`, `n2`, `n3`).
    #[test]
    fn exc_c14n_spec_example_ignores_the_context() {
        let expected = "<n1:elem2 xmlns:n1=\"http://example.net\" xml:lang=\"en\">\n     <n3:stuff xmlns:n3=\"ftp://example.org\"></n3:stuff>\n  </n1:elem2>";
        let first = r#"<n0:local xmlns:n0="foo:bar" xmlns:n3="ftp://example.org">
  <n1:elem2 xmlns:n1="http://example.net" xml:lang="en">
     <n3:stuff xmlns:n3="ftp://example.org"/>
  </n1:elem2>
</n0:local>"#;
        let second = r#"<n2:pdu xmlns:n1="http://example.com" xmlns:n2="http://foo.example" xml:lang="fr" xml:space="retain">
  <n1:elem2 xmlns:n1="http://example.net" xml:lang="en">
     <n3:stuff xmlns:n3="ftp://example.org"/>
  </n1:elem2>
</n2:pdu>"#;
        assert_eq!(exc(first, "elem2"), expected);
        assert_eq!(exc(second, "elem2"), expected);
    }

    /// Canonical XML 1.0 §3.3 (start/end tags, attribute and namespace order), under the
    /// exclusive rules: unused declarations vanish, `xmlns=""` undoes an output default.
    #[test]
    fn attribute_and_namespace_order() {
        let input = r#"<doc>
   <e1   />
   <e2   ></e2>
   <e3   name = "elem3"   id="elem3"   />
   <e4   name="elem4"   id="elem4"   ></e4>
   <e5 a:attr="out" b:attr="sorted" attr2="all" attr="I'm"
      xmlns:b="http://www.ietf.org"
      xmlns:a="http://www.w3.org"
      xmlns="http://example.org"/>
   <e6 xmlns="" xmlns:a="http://www.w3.org">
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="" xmlns:a="http://www.w3.org">
            <e9 xmlns="" xmlns:a="http://www.ietf.org"/>
         </e8>
      </e7>
   </e6>
</doc>"#;
        let expected = r#"<doc>
   <e1></e1>
   <e2></e2>
   <e3 id="elem3" name="elem3"></e3>
   <e4 id="elem4" name="elem4"></e4>
   <e5 xmlns="http://example.org" xmlns:a="http://www.w3.org" xmlns:b="http://www.ietf.org" attr="I'm" attr2="all" b:attr="sorted" a:attr="out"></e5>
   <e6>
      <e7 xmlns="http://www.ietf.org">
         <e8 xmlns="">
            <e9></e9>
         </e8>
      </e7>
   </e6>
</doc>"#;
        assert_eq!(exc(input, "doc"), expected);
    }

    /// Canonical XML 1.0 §3.4 (character modifications and references), without its DTD.
    #[test]
    fn characters_and_references() {
        let input = "<doc>\n   <text>First line&#x0d;&#10;Second line</text>\n   <value>&#x32;</value>\n   <compute><![CDATA[value>\"0\" && value<\"10\" ?\"valid\":\"error\"]]></compute>\n   <compute expr='value>\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"'>valid</compute>\n   <norm attr=' &apos;   &#x20;&#13;&#xa;&#9;   &apos; '/>\n</doc>";
        let expected = "<doc>\n   <text>First line&#xD;\nSecond line</text>\n   <value>2</value>\n   <compute>value&gt;\"0\" &amp;&amp; value&lt;\"10\" ?\"valid\":\"error\"</compute>\n   <compute expr=\"value>&quot;0&quot; &amp;&amp; value&lt;&quot;10&quot; ?&quot;valid&quot;:&quot;error&quot;\">valid</compute>\n   <norm attr=\" '    &#xD;&#xA;&#x9;   ' \"></norm>\n</doc>";
        assert_eq!(exc(input, "doc"), expected);
    }

    /// Comments go only with `WithComments`; line ends are normalized on input.
    #[test]
    fn comments_and_line_ends() {
        let doc = Doc::parse("<a>x<!-- c -->\r\ny<?pi  data?></a>").unwrap();
        let without = ExcC14n::default().canonicalize(&doc, doc.root);
        assert_eq!(without, "<a>x\ny<?pi data?></a>");
        let with = ExcC14n {
            comments: true,
            ..ExcC14n::default()
        }
        .canonicalize(&doc, doc.root);
        assert_eq!(with, "<a>x<!-- c -->\ny<?pi data?></a>");
    }

    /// `InclusiveNamespaces PrefixList` prefixes are output where in scope, used or not.
    #[test]
    fn inclusive_prefixes() {
        let doc = Doc::parse(
            r#"<r xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:s="urn:s"><s:a><s:b/></s:a></r>"#,
        )
        .unwrap();
        let a = doc
            .elements()
            .find(|e| doc.element(*e).unwrap().local == "a")
            .unwrap();
        let c = ExcC14n {
            inclusive: vec!["xs".to_owned()],
            ..ExcC14n::default()
        };
        assert_eq!(
            c.canonicalize(&doc, a),
            r#"<s:a xmlns:s="urn:s" xmlns:xs="http://www.w3.org/2001/XMLSchema"><s:b></s:b></s:a>"#
        );
        assert_eq!(
            ExcC14n::default().canonicalize(&doc, a),
            r#"<s:a xmlns:s="urn:s"><s:b></s:b></s:a>"#
        );
    }

    #[test]
    fn hostile_documents_are_refused() {
        for bad in [
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a>&x;</a>",
            "<p:a/>",
            "<a></b>",
            "<a/><b/>",
            "<a x='1' x='2'/>",
            "<a xmlns:p='urn:1' xmlns:q='urn:1' p:x='1' q:x='2'/>",
            "<a>",
        ] {
            assert!(Doc::parse(bad).is_err(), "{bad}");
        }
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(Doc::parse(&deep).is_err());
        let wide: String = (0..300).map(|i| format!(" a{i}=''")).collect();
        assert!(Doc::parse(&format!("<a{wide}/>")).is_err());
    }
}
