//! Handshakes: `InviteAccountToOrganization`, `AcceptHandshake`, `DeclineHandshake`,
//! `CancelHandshake`, `DescribeHandshake`, `ListHandshakesForAccount`,
//! `ListHandshakesForOrganization`, `EnableAllFeatures`.
//!
//! A handshake is stored once in `org.hs` and indexed under its organization (`org.hsorg`)
//! and under the account that must answer it (`org.hsacct`: the invited account, a member
//! asked to approve all features, the management account for `ENABLE_ALL_FEATURES`).
//!
//! States: an invitation or approval request starts `OPEN`, the `ENABLE_ALL_FEATURES`
//! handshake `REQUESTED`; either ends `ACCEPTED`, `DECLINED`, `CANCELED` or `EXPIRED`.
//! Expiry is not written by a timer: a handshake whose expiration passed reads as
//! `EXPIRED` (evaluated against the injected clock on every read). Finished handshakes stay
//! visible for 30 days, then vanish from every read.
//!
//! All features: `EnableAllFeatures` makes the `ENABLE_ALL_FEATURES` handshake and one
//! `APPROVE_ALL_FEATURES` handshake (its child, resource `PARENT_HANDSHAKE`) per invited
//! member account — accounts the organization created approve implicitly. Each member
//! accepts its own; the management account then accepts the parent, which switches the
//! organization to `ALL` (refused while an approval is missing).

use crate::authz;
use crate::hs::{
    Answer, HsRec, check_transition, hs_constraint, insert, load, not_found, of_org, save,
};
use crate::mail;
use crate::model::{
    self, AccountRec, FORMAT, HANDSHAKES_BY_ACCOUNT, MEMBERS, Org, Page, access_denied,
    invalid_input, require_management, require_management_or_delegated, require_org,
};
use cairn_api::organizations::{Error, types};
use cairn_core::{Call, Failure};
use cairn_store::Tx;
use cairn_wire::ApiError;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Invitations expire after 15 days.
pub const INVITE_TTL_MS: i64 = 15 * DAY_MS;
/// `ENABLE_ALL_FEATURES` / `APPROVE_ALL_FEATURES` handshakes expire after 90 days.
pub const ALL_FEATURES_TTL_MS: i64 = 90 * DAY_MS;
/// Invitations an organization may send per 24 hours.
pub const INVITES_PER_DAY: usize = 20;

fn matches_filter(rec: &HsRec, filter: Option<&types::HandshakeFilter>) -> bool {
    let Some(f) = filter else { return true };
    f.action_type.is_none_or(|a| a.as_str() == rec.action)
        && f.parent_handshake_id
            .as_deref()
            .is_none_or(|p| rec.parent.as_deref() == Some(p))
}

fn filter_binding(filter: Option<&types::HandshakeFilter>) -> String {
    match filter {
        None => String::new(),
        Some(f) => format!(
            "{}/{}",
            f.action_type.map_or("", |a| a.as_str()),
            f.parent_handshake_id.as_deref().unwrap_or("")
        ),
    }
}

/// Finds an account by email (case-insensitive).
fn account_by_email(tx: &mut dyn Tx, email: &str) -> Result<Option<cairn_iam::Account>, Failure> {
    Ok(cairn_iam::accounts::list_accounts(tx)?
        .into_iter()
        .find(|a| a.email.eq_ignore_ascii_case(email)))
}

// ----------------------------------------------------------------------------- invite

pub(crate) async fn invite_account_to_organization(
    ctx: &Call,
    input: types::InviteAccountToOrganizationRequest,
    max_accounts: usize,
) -> Result<types::InviteAccountToOrganizationResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let tags = crate::tags::tag_pairs(input.tags.as_deref()).map_err(|f| f.0)?;
    let hs_id = model::new_handshake_id(ctx.ids());
    let out = authz::write(ctx, move |tx| {
            let org = require_org(tx, &caller)?;
            require_management(&org, &caller)?;
            let target = &input.target;
            let account = match target.r#type {
                types::HandshakePartyType::Account => {
                    if model::NodeKind::of(&target.id) != Some(model::NodeKind::Account) {
                        return Err(invalid_input(
                            "INVALID_PARTY_TYPE_TARGET",
                            "You specified the wrong type for the invited party.",
                        ));
                    }
                    cairn_iam::accounts::get_account(tx, &target.id)?.ok_or_else(|| {
                        Failure(ApiError::new(
                            Error::AccountNotFoundException,
                            "We can't find an AWS account with the AccountId that you specified.",
                        ))
                    })?
                }
                types::HandshakePartyType::Email => account_by_email(tx, &target.id)?
                    .ok_or_else(|| {
                        invalid_input(
                            "INVALID_EMAIL_ADDRESS_TARGET",
                            "You specified an invalid email address for the invited account owner.",
                        )
                    })?,
                types::HandshakePartyType::Organization => {
                    return Err(invalid_input(
                        "INVALID_PARTY_TYPE_TARGET",
                        "You specified the wrong type for the invited party.",
                    ));
                }
            };
            if tx.get(MEMBERS, account.id.as_bytes())?.is_some() {
                return Err(hs_constraint(
                    "ALREADY_IN_AN_ORGANIZATION",
                    "The handshake request is invalid because the invited account is already a member of an organization.",
                ));
            }
            let existing = of_org(tx, &org.id)?;
            if existing
                .iter()
                .any(|h| h.action == "ENABLE_ALL_FEATURES" && h.open_at(now))
            {
                return Err(hs_constraint(
                    "INVITE_DISABLED_DURING_ENABLE_ALL_FEATURES",
                    "You can't issue new invitations to join an organization while it's in the process of enabling all features. You can resume inviting accounts after you finalize the process when all accounts have agreed to the change.",
                ));
            }
            if existing.iter().any(|h| {
                h.action == "INVITE" && h.target_account == account.id && h.open_at(now)
            }) {
                return Err(Failure(ApiError::new(
                    Error::DuplicateHandshakeException,
                    "A handshake with the same action and target already exists.",
                )));
            }
            let pending = existing
                .iter()
                .filter(|h| h.action == "INVITE" && h.open_at(now))
                .count();
            if model::member_count(tx, &org)?.saturating_add(pending) >= max_accounts {
                return Err(hs_constraint(
                    "ACCOUNT_NUMBER_LIMIT_EXCEEDED",
                    "You attempted to exceed the limit on the number of accounts in an organization.",
                ));
            }
            let recent = existing
                .iter()
                .filter(|h| h.action == "INVITE" && now.saturating_sub(h.requested_ms) < DAY_MS)
                .count();
            if recent >= INVITES_PER_DAY {
                return Err(hs_constraint(
                    "HANDSHAKE_RATE_LIMIT_EXCEEDED",
                    "You attempted to exceed the number of handshakes that you can send in one day.",
                ));
            }
            let management_name = cairn_iam::accounts::get_account(tx, &org.management_account_id)?
                .map(|a| a.name)
                .unwrap_or_default();
            let rec = HsRec {
                v: FORMAT,
                id: hs_id.clone(),
                arn: org.handshake_arn("invite", &hs_id),
                org_id: org.id.clone(),
                action: String::from("INVITE"),
                state: String::from("OPEN"),
                requested_ms: now,
                expires_ms: now.saturating_add(INVITE_TTL_MS),
                finished_ms: None,
                target_type: target.r#type.as_str().to_owned(),
                target_id: target.id.clone(),
                target_account: account.id.clone(),
                notes: input.notes.clone(),
                tags: tags.clone(),
                parent: None,
                management_account_id: org.management_account_id.clone(),
                management_email: org.management_email.clone(),
                management_name,
                feature_set: org.feature_set.clone(),
            };
            insert(tx, &rec)?;
            // The invitation email, sent if and only if the invitation commits.
            mail::enqueue(
                tx,
                &mail::invitation(
                    &account.email,
                    &account.id,
                    &org.id,
                    &org.management_email,
                    &hs_id,
                    input.notes.as_deref(),
                ),
                now,
            )?;
            Ok(types::InviteAccountToOrganizationResponse {
                handshake: Some(rec.to_api(now)),
            })
        })
        .await?;
    ctx.kick_jobs();
    Ok(out)
}

// ----------------------------------------------------------------------------- answers

/// Moves a handshake by `answer` on behalf of `caller`; returns the updated record.
fn answer(
    tx: &mut dyn Tx,
    caller: &str,
    id: &str,
    answer: Answer,
    now: i64,
    max_accounts: usize,
) -> Result<HsRec, Failure> {
    let mut rec = load(tx, id)?.ok_or_else(not_found)?;
    if !rec.visible_at(now) {
        return Err(not_found());
    }
    let org: Option<Org> = model::get_json(tx, model::ORGS, &rec.org_id)?;
    let management = org
        .as_ref()
        .map_or(rec.management_account_id.as_str(), |o| {
            o.management_account_id.as_str()
        })
        .to_owned();
    // Who may answer.
    let allowed = match (answer, rec.action.as_str()) {
        (Answer::Cancel, _) => caller == management,
        (_, "ENABLE_ALL_FEATURES") => answer == Answer::Accept && caller == management,
        _ => caller == rec.target_account,
    };
    if !allowed {
        return Err(access_denied());
    }
    let (state, _) = rec.state_at(now);
    check_transition(state, answer)?;
    if answer == Answer::Accept {
        let org = org.ok_or_else(not_found)?;
        match rec.action.as_str() {
            "INVITE" => join(tx, &org, &rec, caller, now, max_accounts)?,
            "TRANSFER_RESPONSIBILITY" => crate::transfers::check_accept(tx, &rec, now)?,
            "ENABLE_ALL_FEATURES" => {
                let waiting = of_org(tx, &org.id)?.into_iter().any(|h| {
                    h.parent.as_deref() == Some(rec.id.as_str()) && h.state_at(now).0 != "ACCEPTED"
                });
                if waiting {
                    return Err(Failure(ApiError::new(
                        Error::InvalidHandshakeTransitionException,
                        "You can't accept this handshake until every invited member account has approved the change to all features.",
                    )));
                }
                let mut org = org;
                org.feature_set = String::from("ALL");
                model::save_org(tx, &org)?;
            }
            _ => {}
        }
    }
    if answer == Answer::Cancel && rec.action == "ENABLE_ALL_FEATURES" {
        for mut child in of_org(tx, &rec.org_id)? {
            if child.parent.as_deref() == Some(rec.id.as_str()) && child.open_at(now) {
                child.state = String::from("CANCELED");
                child.finished_ms = Some(now);
                save(tx, &child)?;
            }
        }
    }
    rec.state = answer.state().to_owned();
    rec.finished_ms = Some(now);
    save(tx, &rec)?;
    Ok(rec)
}

/// The invited account joins: member record (`INVITED`), under the root, default policies,
/// the invitation's tags.
fn join(
    tx: &mut dyn Tx,
    org: &Org,
    rec: &HsRec,
    caller: &str,
    now: i64,
    max_accounts: usize,
) -> Result<(), Failure> {
    if tx.get(MEMBERS, caller.as_bytes())?.is_some() {
        return Err(hs_constraint(
            "ALREADY_IN_AN_ORGANIZATION",
            "The handshake request is invalid because the invited account is already a member of an organization.",
        ));
    }
    if model::member_count(tx, org)? >= max_accounts {
        return Err(hs_constraint(
            "ACCOUNT_NUMBER_LIMIT_EXCEEDED",
            "You attempted to exceed the limit on the number of accounts in an organization.",
        ));
    }
    let account = cairn_iam::accounts::get_account(tx, caller)?
        .ok_or_else(|| Failure(ApiError::internal()))?;
    model::put_account_rec(
        tx,
        org,
        &AccountRec {
            v: FORMAT,
            id: account.id.clone(),
            name: account.name.clone(),
            email: account.email.clone(),
            status: String::from("ACTIVE"),
            joined_method: String::from("INVITED"),
            joined_ms: now,
            closed_ms: None,
        },
    )?;
    tx.put(MEMBERS, account.id.as_bytes(), org.id.as_bytes())?;
    model::set_parent(tx, org, &account.id, &org.root_id)?;
    model::attach_defaults(tx, org, &account.id)?;
    for (k, v) in &rec.tags {
        model::put_tag(tx, org, &account.id, k, v)?;
    }
    Ok(())
}

pub(crate) async fn accept_handshake(
    ctx: &Call,
    input: types::AcceptHandshakeRequest,
    max_accounts: usize,
) -> Result<types::AcceptHandshakeResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let id = input.handshake_id;
    authz::write(ctx, move |tx| {
        let rec = answer(tx, &caller, &id, Answer::Accept, now, max_accounts)?;
        Ok(types::AcceptHandshakeResponse {
            handshake: Some(rec.to_api(now)),
        })
    })
    .await
}

pub(crate) async fn decline_handshake(
    ctx: &Call,
    input: types::DeclineHandshakeRequest,
) -> Result<types::DeclineHandshakeResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let id = input.handshake_id;
    authz::write(ctx, move |tx| {
        let rec = answer(tx, &caller, &id, Answer::Decline, now, usize::MAX)?;
        Ok(types::DeclineHandshakeResponse {
            handshake: Some(rec.to_api(now)),
        })
    })
    .await
}

pub(crate) async fn cancel_handshake(
    ctx: &Call,
    input: types::CancelHandshakeRequest,
) -> Result<types::CancelHandshakeResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let id = input.handshake_id;
    authz::write(ctx, move |tx| {
        let rec = answer(tx, &caller, &id, Answer::Cancel, now, usize::MAX)?;
        Ok(types::CancelHandshakeResponse {
            handshake: Some(rec.to_api(now)),
        })
    })
    .await
}

// ----------------------------------------------------------------------------- reads

pub(crate) async fn describe_handshake(
    ctx: &Call,
    input: types::DescribeHandshakeRequest,
) -> Result<types::DescribeHandshakeResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let rec = load(tx, &input.handshake_id)?.ok_or_else(not_found)?;
        if !rec.visible_at(now) {
            return Err(not_found());
        }
        let in_org = tx
            .get(MEMBERS, caller.as_bytes())?
            .is_some_and(|o| o == rec.org_id.as_bytes());
        if rec.target_account != caller && !in_org {
            return Err(not_found());
        }
        Ok(types::DescribeHandshakeResponse {
            handshake: Some(rec.to_api(now)),
        })
    })
    .await
}

pub(crate) async fn list_handshakes_for_account(
    ctx: &Call,
    input: types::ListHandshakesForAccountRequest,
) -> Result<types::ListHandshakesForAccountResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let filter = input.filter.as_ref();
        let page = Page::new(
            format!(
                "ListHandshakesForAccount/{caller}/{}",
                filter_binding(filter)
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let mut recs = Vec::new();
        for id in model::scan_ids(tx, HANDSHAKES_BY_ACCOUNT, &format!("{caller}/"))? {
            if let Some(rec) = load(tx, &id)?
                && rec.visible_at(now)
                && matches_filter(&rec, filter)
            {
                recs.push(rec);
            }
        }
        let (recs, next_token) = page.apply(recs, |r| r.id.clone());
        Ok(types::ListHandshakesForAccountResponse {
            handshakes: Some(recs.iter().map(|r| r.to_api(now)).collect()),
            next_token,
        })
    })
    .await
}

pub(crate) async fn list_handshakes_for_organization(
    ctx: &Call,
    input: types::ListHandshakesForOrganizationRequest,
) -> Result<types::ListHandshakesForOrganizationResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    ctx.read(move |tx| {
        let org = require_org(tx, &caller)?;
        require_management_or_delegated(tx, &org, &caller)?;
        let filter = input.filter.as_ref();
        let page = Page::new(
            format!(
                "ListHandshakesForOrganization/{caller}/{}",
                filter_binding(filter)
            ),
            input.next_token.as_deref(),
            input.max_results,
        )?;
        let recs: Vec<HsRec> = of_org(tx, &org.id)?
            .into_iter()
            .filter(|r| r.visible_at(now) && matches_filter(r, filter))
            .collect();
        let (recs, next_token) = page.apply(recs, |r| r.id.clone());
        Ok(types::ListHandshakesForOrganizationResponse {
            handshakes: Some(recs.iter().map(|r| r.to_api(now)).collect()),
            next_token,
        })
    })
    .await
}

// ----------------------------------------------------------------------------- all features

pub(crate) async fn enable_all_features(
    ctx: &Call,
    _input: types::EnableAllFeaturesRequest,
) -> Result<types::EnableAllFeaturesResponse, ApiError> {
    let caller = ctx.account_id().to_owned();
    let now = ctx.now_ms();
    let parent_id = model::new_handshake_id(ctx.ids());
    let ids = ctx.ids_arc();
    authz::write(ctx, move |tx| {
        let org = require_org(tx, &caller)?;
        require_management(&org, &caller)?;
        if org.is_all_features() {
            return Err(hs_constraint(
                "ORGANIZATION_ALREADY_HAS_ALL_FEATURES",
                "The handshake request is invalid because the organization has already enabled all features.",
            ));
        }
        if of_org(tx, &org.id)?
            .iter()
            .any(|h| h.action == "ENABLE_ALL_FEATURES" && h.open_at(now))
        {
            return Err(hs_constraint(
                "ORGANIZATION_IS_ALREADY_PENDING_ALL_FEATURES_MIGRATION",
                "The handshake request is invalid because the organization is already in the process of enabling all features.",
            ));
        }
        let management_name = cairn_iam::accounts::get_account(tx, &org.management_account_id)?
            .map(|a| a.name)
            .unwrap_or_default();
        let base = |id: &str, action: &str, target: &str, parent: Option<String>| HsRec {
            v: FORMAT,
            id: id.to_owned(),
            arn: org.handshake_arn(action, id),
            org_id: org.id.clone(),
            action: action.to_owned(),
            state: String::from(if parent.is_some() { "OPEN" } else { "REQUESTED" }),
            requested_ms: now,
            expires_ms: now.saturating_add(ALL_FEATURES_TTL_MS),
            finished_ms: None,
            target_type: String::from("ACCOUNT"),
            target_id: target.to_owned(),
            target_account: target.to_owned(),
            notes: None,
            tags: Vec::new(),
            parent,
            management_account_id: org.management_account_id.clone(),
            management_email: org.management_email.clone(),
            management_name: management_name.clone(),
            feature_set: org.feature_set.clone(),
        };
        let parent = base(
            &parent_id,
            "ENABLE_ALL_FEATURES",
            &org.management_account_id,
            None,
        );
        insert(tx, &parent)?;
        let members: Vec<AccountRec> =
            model::scan_json(tx, model::ACCOUNTS, &format!("{}/", org.id))?;
        for m in members
            .iter()
            .filter(|m| m.joined_method == "INVITED" && m.id != org.management_account_id)
        {
            let id = model::new_handshake_id(ids.as_ref());
            insert(
                tx,
                &base(&id, "APPROVE_ALL_FEATURES", &m.id, Some(parent_id.clone())),
            )?;
        }
        Ok(types::EnableAllFeaturesResponse {
            handshake: Some(parent.to_api(now)),
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hs::RETENTION_MS;

    fn invite(now: i64) -> HsRec {
        HsRec {
            v: FORMAT,
            id: String::from("h-abcdefghij"),
            arn: String::from(
                "arn:aws:organizations::111111111111:handshake/o-abcdefghij/invite/h-abcdefghij",
            ),
            org_id: String::from("o-abcdefghij"),
            action: String::from("INVITE"),
            state: String::from("OPEN"),
            requested_ms: now,
            expires_ms: now + INVITE_TTL_MS,
            finished_ms: None,
            target_type: String::from("EMAIL"),
            target_id: String::from("juan@example.com"),
            target_account: String::from("222222222222"),
            notes: Some(String::from("hi")),
            tags: Vec::new(),
            parent: None,
            management_account_id: String::from("111111111111"),
            management_email: String::from("bill@example.com"),
            management_name: String::from("Management"),
            feature_set: String::from("ALL"),
        }
    }

    #[test]
    fn invitations_expire_after_15_days_and_vanish_30_days_later() {
        let t0 = 1_700_000_000_000;
        let h = invite(t0);
        assert_eq!(h.state_at(t0).0, "OPEN");
        assert_eq!(h.state_at(t0 + INVITE_TTL_MS - 1).0, "OPEN");
        assert_eq!(
            h.state_at(t0 + INVITE_TTL_MS),
            ("EXPIRED", Some(t0 + INVITE_TTL_MS))
        );
        assert!(!h.open_at(t0 + INVITE_TTL_MS));
        assert!(h.visible_at(t0 + INVITE_TTL_MS + RETENTION_MS - 1));
        assert!(!h.visible_at(t0 + INVITE_TTL_MS + RETENTION_MS));
        assert_eq!(
            h.to_api(t0 + INVITE_TTL_MS).state,
            Some(types::HandshakeState::Expired)
        );
    }

    #[test]
    fn finished_handshakes_stay_visible_for_30_days() {
        let t0 = 1_700_000_000_000;
        let mut h = invite(t0);
        h.state = String::from("ACCEPTED");
        h.finished_ms = Some(t0 + 10);
        // Accepted before the expiration: never reads as expired.
        assert_eq!(h.state_at(t0 + INVITE_TTL_MS * 2).0, "ACCEPTED");
        assert!(h.visible_at(t0 + 10 + RETENTION_MS - 1));
        assert!(!h.visible_at(t0 + 10 + RETENTION_MS));
    }

    #[test]
    fn transitions() {
        assert!(check_transition("OPEN", Answer::Accept).is_ok());
        assert!(check_transition("REQUESTED", Answer::Cancel).is_ok());
        let code = |s, a| check_transition(s, a).unwrap_err().0.code.to_string();
        assert_eq!(
            code("ACCEPTED", Answer::Accept),
            "HandshakeAlreadyInStateException"
        );
        assert_eq!(
            code("DECLINED", Answer::Accept),
            "InvalidHandshakeTransitionException"
        );
        assert_eq!(
            code("EXPIRED", Answer::Decline),
            "InvalidHandshakeTransitionException"
        );
        assert_eq!(
            code("CANCELED", Answer::Cancel),
            "HandshakeAlreadyInStateException"
        );
    }

    #[test]
    fn invite_shape() {
        let h = invite(0).to_api(0);
        let parties = h.parties.unwrap();
        assert_eq!(parties[0].r#type, types::HandshakePartyType::Organization);
        assert_eq!(parties[1].id, "juan@example.com");
        assert_eq!(parties[1].r#type, types::HandshakePartyType::Email);
        let res = h.resources.unwrap();
        assert_eq!(res[0].resources.as_ref().unwrap().len(), 3);
        assert_eq!(res[2].r#type, Some(types::HandshakeResourceType::Notes));
        assert_eq!(h.state, Some(types::HandshakeState::Open));
    }
}
