//! `rosterbridge admin …`: console administrators (add, list, remove, reset-password). A
//! password is typed at a prompt that does not echo it (twice), read from the first line of
//! standard input when that is not a terminal, or generated (`--generate`) and printed once.
//! Every change is recorded in the audit log as done by `cli`.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;

use super::Cli;
use crate::auth::admins::{self, AdminError};
use crate::store::Store;

#[derive(Subcommand, Debug)]
pub enum AdminAction {
    /// Add a console administrator (argon2id-hashed password).
    Add {
        /// The login name.
        name: String,
        /// Generate a password and print it once instead of reading one.
        #[arg(long)]
        generate: bool,
    },
    /// List administrators (never their passwords), and the latest audit entries.
    List,
    /// Remove an administrator.
    Remove { name: String },
    /// Give an administrator a new password.
    ResetPassword {
        name: String,
        /// Generate a password and print it once instead of reading one.
        #[arg(long)]
        generate: bool,
    },
}

/// Who the audit log says made command-line changes.
const ACTOR: &str = "cli";

/// The password: generated and printed, prompted twice on a terminal, else standard input's
/// first line.
fn password(generate: bool) -> anyhow::Result<Result<String, String>> {
    if generate {
        let p = admins::generate_password()?;
        out!("password (shown once): {p}");
        return Ok(Ok(p));
    }
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("password: ")?;
        let b = rpassword::prompt_password("again: ")?;
        if a != b {
            return Ok(Err("the two passwords differ".into()));
        }
        return Ok(Ok(a));
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(Ok(line.trim_end_matches(['\r', '\n']).to_string()))
}

/// Refusals are exit 2 (with the reason), store failures propagate.
fn refused(e: AdminError) -> anyhow::Result<i32> {
    match e {
        AdminError::Auth(a) => Err(a.into()),
        other => {
            eprintln!("rosterbridge: {other}");
            Ok(2)
        }
    }
}

pub(super) fn run(cli: &Cli, action: &AdminAction) -> anyhow::Result<i32> {
    let store = Store::open(&cli.database_url)?;
    let mut conn = store.conn()?;
    match action {
        AdminAction::Add { name, generate } | AdminAction::ResetPassword { name, generate } => {
            let p = match password(*generate)? {
                Ok(p) => p,
                Err(why) => {
                    eprintln!("rosterbridge: {why}");
                    return Ok(2);
                }
            };
            let adding = matches!(action, AdminAction::Add { .. });
            let done = if adding {
                admins::add(&mut conn, ACTOR, name, &p)
            } else {
                admins::reset_password(&mut conn, ACTOR, name, &p)
            };
            match done {
                Ok(()) if adding => out!("administrator {name} added"),
                Ok(()) => out!("password of {name} reset"),
                Err(e) => return refused(e),
            }
        }
        AdminAction::Remove { name } => match admins::remove(&mut conn, ACTOR, name) {
            Ok(()) => out!("administrator {name} removed"),
            Err(e) => return refused(e),
        },
        AdminAction::List => {
            for a in crate::store::admins::list(&mut conn)? {
                out!("{:<32} added {}", a.name, a.created_at);
            }
            out!("latest changes:");
            for e in crate::store::admins::audit_entries(&mut conn, 20)? {
                out!("  {}  {:<8} {:<22} {}", e.at, e.actor, e.action, e.detail);
            }
        }
    }
    Ok(0)
}
