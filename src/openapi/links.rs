//! OpenAPI `links`: where one operation's answer feeds another (a created
//! record's `id` to its reads and changes, `next_cursor` to the next page),
//! which is what lets a client, or a stateful test, follow the API.

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::{OpenApi, RefOr};

/// One link: from the `status` answer of operation `from`, named `name`,
/// to operation `to` with its parameters as runtime expressions
/// (`$response.body#/id`, `$request.path.id`).
pub struct Link {
    pub from: &'static str,
    pub status: &'static str,
    pub name: &'static str,
    pub to: &'static str,
    pub parameters: &'static [(&'static str, &'static str)],
    pub description: &'static str,
}

/// The `next` link of a list whose page is `from`'s 200, repeating the
/// path parameters.
pub const fn next_page(
    from: &'static str,
    parameters: &'static [(&'static str, &'static str)],
) -> Link {
    Link {
        from,
        status: "200",
        name: "next",
        to: from,
        parameters,
        description: "The next page (give the same filters again).",
    }
}

/// The `id` of the record answered.
pub const ID: &[(&str, &str)] = &[("id", "$response.body#/id")];
/// The `id` of a page's first record.
pub const FIRST_ID: &[(&str, &str)] = &[("id", "$response.body#/items/0/id")];

/// From a record's `status` answer to `to` on the same record.
pub const fn same(
    from: &'static str,
    status: &'static str,
    name: &'static str,
    to: &'static str,
) -> Link {
    Link {
        from,
        status,
        name,
        to,
        parameters: ID,
        description: "The same record.",
    }
}

/// From a page (`from`'s 200) to `to` on its first record.
pub const fn first(from: &'static str, name: &'static str, to: &'static str) -> Link {
    Link {
        from,
        status: "200",
        name,
        to,
        parameters: FIRST_ID,
        description: "The page's first record.",
    }
}

/// Adds `links` to the operations of `doc` they start from.
pub fn add(doc: &mut OpenApi, links: &[Link]) {
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.patch,
            &mut item.put,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            for link in links
                .iter()
                .filter(|l| op.operation_id.as_deref() == Some(l.from))
            {
                let Some(RefOr::T(response)) = op.responses.responses.get_mut(link.status) else {
                    continue;
                };
                let mut built = LinkBuilder::new()
                    .operation_id(link.to)
                    .description(link.description);
                for (name, value) in link.parameters {
                    built = built.parameter(*name, *value);
                }
                response
                    .links
                    .insert(link.name.to_string(), RefOr::T(built.build()));
            }
        }
    }
}
