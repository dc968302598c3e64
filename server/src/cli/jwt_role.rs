//! `strongroom jwt-role create | list | revoke`: JWT roles from the command
//! line, on the data directory or database (like `approle`), audited as
//! `(command line)`. A workload logs in with a signed identity token
//! (`POST /v1/auth/jwt/login`) and gets a short-lived token.

use super::{
    approle::audited,
    local::{self, entry},
    RunError,
};
use crate::config::KeyArgs;
use app::{
    domain::{
        audit::{Action, OK},
        jwt::{audience, BoundClaims, Issuer},
        token::{token_scope, Ttl},
        TokenName,
    },
    ssr::{
        store::jwt_roles::{self, Role, MAX_TOKEN_TTL},
        store::Stamp,
    },
};
use clap::Subcommand;

#[derive(Subcommand, Debug)]
pub enum JwtRoleCommand {
    /// Create a JWT role: tokens signed by ISSUER's published keys, for AUDIENCE,
    /// carrying every bound claim, log in for a short-lived token reading NAMESPACE.
    Create {
        /// The role's name (2 to 40 of a-z 0-9 _ -), shown in the audit trail as jwt:NAME.
        name: String,
        /// The issuer (`iss`), exactly: https://token.actions.githubusercontent.com,
        /// https://gitlab.com, … Its keys are found through OIDC discovery.
        #[arg(long)]
        issuer: String,
        /// What the token's `aud` must contain (GitHub: the audience the workflow asks for).
        #[arg(long)]
        audience: String,
        /// Claims the token must carry exactly: claim=value, claim=v1|v2 for either; at least one,
        /// comma-separated or repeated. Prefer immutable ones (repository_id, project_id, sub).
        #[arg(long = "bound-claims", required = true)]
        bound_claims: Vec<String>,
        /// The namespace subtree its logins read, or '*' for every namespace.
        #[arg(long)]
        namespace: String,
        /// How long a login's token lives: 15m (the default), up to 24h.
        #[arg(long, default_value = "15m")]
        token_ttl: String,
        #[command(flatten)]
        key: KeyArgs,
    },
    /// List JWT roles: issuer, audience, bound claims, scope, live logins.
    List {
        #[command(flatten)]
        key: KeyArgs,
    },
    /// Revoke a JWT role at once, and the tokens of its logins.
    Revoke {
        name: String,
        #[command(flatten)]
        key: KeyArgs,
    },
}

const ACTOR: &str = "(command line)";

fn user(e: &dyn std::fmt::Display) -> RunError {
    RunError::User(e.to_string())
}

pub async fn run(command: JwtRoleCommand) -> Result<(), RunError> {
    match command {
        JwtRoleCommand::Create { name, issuer, audience: aud, bound_claims, namespace, token_ttl, key } => {
            let role = Role {
                name: TokenName::parse_role(&name).map_err(|e| user(&e))?,
                issuer: Issuer::parse(&issuer).map_err(|e| user(&format!("--issuer: {e}")))?,
                audience: audience(&aud).map_err(|e| user(&format!("--audience: {e}")))?,
                bound: BoundClaims::parse(&bound_claims).map_err(|e| user(&format!("--bound-claims: {e}")))?,
                scope: token_scope(&namespace).map_err(|e| user(&format!("--namespace: {e}")))?,
                token_ttl: Ttl::parse(&token_ttl, MAX_TOKEN_TTL, false)
                    .map_err(|e| user(&format!("--token-ttl: {e}")))?
                    .0,
            };
            let record = entry(Action::JwtRoleCreate, role.scope.as_str(), &role.name, OK.into());
            let view = audited(
                &key,
                record,
                |_| None,
                move |c, rows| jwt_roles::create(c, rows, &role, Stamp { actor: ACTOR, at: app::ssr::clock::now() }),
            )
            .await?;
            eprintln!(
                "created JWT role {} for {}: tokens from {} for audience {:?} with {} log in for {}",
                view.name,
                view.scope,
                view.issuer,
                view.audience,
                view.bound,
                Ttl(view.token_ttl)
            );
            Ok(())
        }
        JwtRoleCommand::List { key } => {
            let state = local::open(&key, false).await?;
            let list = state.db.read(|c| jwt_roles::list(c, app::ssr::clock::now())).await.map_err(|e| user(&e))?;
            println!(
                "{:<24} {:<24} {:>9} {:>6} {:<8} ISSUER / AUDIENCE / BOUND CLAIMS",
                "NAME", "SCOPE", "TOKEN TTL", "LOGINS", "STATUS"
            );
            for r in list {
                println!(
                    "{:<24} {:<24} {:>9} {:>6} {:<8} {} / {} / {}",
                    r.name,
                    r.scope.to_string(),
                    Ttl(r.token_ttl).to_string(),
                    r.live_logins,
                    if r.revoked_at.is_some() { "revoked" } else { "active" },
                    r.issuer,
                    r.audience,
                    r.bound
                );
            }
            Ok(())
        }
        JwtRoleCommand::Revoke { name, key } => {
            let name = TokenName::parse_role(&name).map_err(|e| user(&e))?;
            let (record, shown) = (entry(Action::JwtRoleRevoke, "", &name, OK.into()), name.clone());
            let logins = audited(
                &key,
                record,
                |_| None,
                move |c, rows| jwt_roles::revoke(c, rows, &name, Stamp { actor: ACTOR, at: app::ssr::clock::now() }),
            )
            .await?;
            eprintln!("revoked JWT role {shown} and {logins} live login token(s)");
            Ok(())
        }
    }
}
