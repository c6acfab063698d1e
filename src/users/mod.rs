//! User accounts. The HTTP routes come with the registry; for now accounts
//! are made from the command line (`banso user create`) and the demo.

pub mod model;
pub mod repo;
