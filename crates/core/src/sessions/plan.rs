//! The session part of every authentication, decided without IO: the request's session options
//! parsed once ([`SessionRequest`]), and what the authentication does with sessions
//! ([`SessionPlan`]): start one, extend the one presented, attach the new factor to it, or none.
//! The same rules serve consumer sessions and member sessions ([`SessionState`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value};

use super::{merge_custom_claims, parse_duration, AuthenticationFactor, MemberSession, Session};
use crate::InputError;

/// How a request names an existing session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionRef {
    Token(String),
    Jwt(String),
}

/// The session options of an authenticate request (`session_token`, `session_jwt`,
/// `session_duration_minutes`, `session_custom_claims`), checked before any factor is verified
/// or any session looked up.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionRequest {
    presented: Option<SessionRef>,
    duration: Option<Duration>,
    claims_patch: Value,
}

/// Why a session plan cannot be made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionProblem {
    /// The presented session belongs to someone else: to this request it does not exist.
    NotFound,
    Input(InputError),
}

impl From<InputError> for SessionProblem {
    fn from(error: InputError) -> Self {
        SessionProblem::Input(error)
    }
}

/// What an authentication does with sessions.
#[derive(Clone, Debug, PartialEq)]
pub enum SessionPlan<S> {
    /// None presented and none asked for.
    None,
    /// A new session whose first factor is `factor`.
    Start {
        factor: AuthenticationFactor,
        expires_at: DateTime<Utc>,
        custom_claims: Map<String, Value>,
    },
    /// The presented session, accessed now, with its expiry moved when a duration was given and
    /// its claims merged.
    Extend(S),
    /// [`SessionPlan::Extend`], and the new factor recorded in the session (step-up).
    Attach(S),
    /// A member proved `factor`, but the organization still demands MFA: no session; the caller
    /// issues an intermediate session for the member and this factor, which a second factor
    /// completes ([`SessionPlan::short_of_mfa`]).
    Intermediate { factor: AuthenticationFactor },
}

/// The factor kinds that are a second factor for an organization's MFA.
const SECOND_FACTOR_KINDS: [&str; 3] = ["totp", "otp", "recovery_codes"];

/// Whether MFA is still owed by a member whose session would hold `factors`, when the
/// organization requires it of this member (`mfa_policy: REQUIRED_FOR_ALL`, or the member is
/// enrolled): owed unless one of them is a second factor (TOTP, SMS OTP, a recovery code).
pub fn mfa_owed(required: bool, factors: &[AuthenticationFactor]) -> bool {
    required
        && !factors
            .iter()
            .any(|factor| SECOND_FACTOR_KINDS.contains(&factor.kind.as_str()))
}

impl<S> SessionPlan<S> {
    /// Stops the plan short of a session while MFA is owed: a session it would start becomes an
    /// intermediate one. A presented session was a full one, so attaching to it stands.
    pub fn short_of_mfa(self, owed: bool) -> SessionPlan<S> {
        match self {
            SessionPlan::Start { factor, .. } if owed => SessionPlan::Intermediate { factor },
            plan => plan,
        }
    }
}

/// What the plan needs of a consumer or member session.
pub trait SessionState {
    /// The id of the user or member whose session this is.
    fn owner(&self) -> &str;
    fn record_factor(&mut self, factor: AuthenticationFactor);
    /// Marks the session accessed at `now`, lasting until `expires_at` when given.
    fn touch(&mut self, now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>);
    fn custom_claims_mut(&mut self) -> &mut Map<String, Value>;
}

fn given(value: Option<String>) -> Option<String> {
    value.filter(|text| !text.is_empty())
}

impl SessionRequest {
    /// Parses the options; an empty string is an absent option, as with Stytch.
    pub fn parse(
        session_token: Option<String>,
        session_jwt: Option<String>,
        session_duration_minutes: Option<i64>,
        session_custom_claims: Option<Value>,
    ) -> Result<SessionRequest, InputError> {
        let presented = match (given(session_token), given(session_jwt)) {
            (Some(_), Some(_)) => {
                return Err(InputError::Named {
                    error_type: "too_many_session_arguments",
                    message: "Please include at most one of session_token or session_jwt."
                        .to_owned(),
                })
            }
            (Some(token), None) => Some(SessionRef::Token(token)),
            (None, Some(jwt)) => Some(SessionRef::Jwt(jwt)),
            (None, None) => None,
        };
        let duration = parse_duration(session_duration_minutes)?;
        let claims_patch = session_custom_claims.unwrap_or(Value::Null);
        // The patch's shape and namespace now; the merged size once the session is known (a
        // patch too large alone is too large merged, as merging keeps every key it sets).
        merge_custom_claims(&mut Map::new(), claims_patch.clone())?;
        Ok(SessionRequest {
            presented,
            duration,
            claims_patch,
        })
    }

    /// The session the request names, if any.
    pub fn presented(&self) -> Option<&SessionRef> {
        self.presented.as_ref()
    }

    pub fn duration(&self) -> Option<Duration> {
        self.duration
    }

    /// The custom claims of a session this request starts.
    pub fn new_custom_claims(&self) -> Result<Map<String, Value>, InputError> {
        let mut custom_claims = Map::new();
        merge_custom_claims(&mut custom_claims, self.claims_patch.clone())?;
        Ok(custom_claims)
    }

    /// The plan for an authentication of `owner`, proving `factor` (none for a bare session
    /// check), given the session the request presented once it is looked up. Without a presented
    /// session a new one starts when the request asks for a duration or `default_duration` is
    /// set (B2B sessions always start), and only when a factor was proven.
    pub fn plan<S: SessionState>(
        &self,
        presented: Option<S>,
        owner: &str,
        factor: Option<AuthenticationFactor>,
        default_duration: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<SessionPlan<S>, SessionProblem> {
        if let Some(mut session) = presented {
            if session.owner() != owner {
                return Err(SessionProblem::NotFound);
            }
            session.touch(now, self.duration.map(|duration| now + duration));
            merge_custom_claims(session.custom_claims_mut(), self.claims_patch.clone())?;
            return Ok(match factor {
                Some(factor) => {
                    session.record_factor(factor);
                    SessionPlan::Attach(session)
                }
                None => SessionPlan::Extend(session),
            });
        }
        match (self.duration.or(default_duration), factor) {
            (Some(duration), Some(factor)) => Ok(SessionPlan::Start {
                factor,
                expires_at: now + duration,
                custom_claims: self.new_custom_claims()?,
            }),
            _ => Ok(SessionPlan::None),
        }
    }
}

impl SessionState for Session {
    fn owner(&self) -> &str {
        self.user_id.as_str()
    }

    fn record_factor(&mut self, factor: AuthenticationFactor) {
        Session::record_factor(self, factor);
    }

    fn touch(&mut self, now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) {
        self.last_accessed_at = now;
        if let Some(expires_at) = expires_at {
            self.expires_at = expires_at;
        }
    }

    fn custom_claims_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.custom_claims
    }
}

impl SessionState for MemberSession {
    fn owner(&self) -> &str {
        self.member_id.as_str()
    }

    fn record_factor(&mut self, factor: AuthenticationFactor) {
        MemberSession::record_factor(self, factor);
    }

    fn touch(&mut self, now: DateTime<Utc>, expires_at: Option<DateTime<Utc>>) {
        self.last_accessed_at = now;
        if let Some(expires_at) = expires_at {
            self.expires_at = expires_at;
        }
    }

    fn custom_claims_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.custom_claims
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ids::{EmailId, Environment, SessionId, UserId};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + seconds, 0).unwrap()
    }

    fn request(
        token: Option<&str>,
        jwt: Option<&str>,
        minutes: Option<i64>,
        claims: Option<Value>,
    ) -> Result<SessionRequest, InputError> {
        SessionRequest::parse(
            token.map(str::to_owned),
            jwt.map(str::to_owned),
            minutes,
            claims,
        )
    }

    fn session(user_id: &UserId) -> Session {
        Session {
            session_id: SessionId::generate(Environment::Test),
            user_id: user_id.clone(),
            started_at: at(0),
            last_accessed_at: at(0),
            expires_at: at(3600),
            authentication_factors: vec![AuthenticationFactor::totp("totp-1".into(), at(0))],
            custom_claims: Map::new(),
        }
    }

    fn password(now: DateTime<Utc>) -> AuthenticationFactor {
        AuthenticationFactor::password(
            EmailId::generate(Environment::Test),
            "ada@example.com".into(),
            now,
        )
    }

    fn error_type(error: InputError) -> &'static str {
        match error {
            InputError::Named { error_type, .. } => error_type,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn a_request_names_at_most_one_session() {
        let both = request(Some("t"), Some("j"), None, None).unwrap_err();
        assert_eq!(error_type(both), "too_many_session_arguments");
        let token = request(Some("t"), Some(""), None, None).unwrap();
        assert_eq!(token.presented(), Some(&SessionRef::Token("t".into())));
        let jwt = request(Some(""), Some("j"), None, None).unwrap();
        assert_eq!(jwt.presented(), Some(&SessionRef::Jwt("j".into())));
        assert_eq!(request(None, None, None, None).unwrap().presented(), None);
    }

    #[test]
    fn options_are_checked_before_any_session_is_known() {
        let short = request(None, None, Some(4), None).unwrap_err();
        assert_eq!(error_type(short), "invalid_session_duration_minutes");
        let stytch = request(None, None, None, Some(json!({"https://stytch.com/x": 1})));
        assert_eq!(
            error_type(stytch.unwrap_err()),
            "stytch_claims_in_custom_claims"
        );
        let big = json!({ "k": "x".repeat(5000) });
        assert_eq!(
            error_type(request(None, None, None, Some(big)).unwrap_err()),
            "custom_claims_too_large"
        );
        assert!(matches!(
            request(None, None, None, Some(json!([1]))),
            Err(InputError::BadRequest(_))
        ));
    }

    #[test]
    fn a_session_starts_only_when_asked_for_and_a_factor_was_proven() {
        let user = UserId::generate(Environment::Test);
        let none = request(None, None, None, None).unwrap();
        let plan = none.plan::<Session>(None, user.as_str(), Some(password(at(1))), None, at(1));
        assert_eq!(plan.unwrap(), SessionPlan::None);

        let asked = request(None, None, Some(60), Some(json!({"team": "a", "exp": 1}))).unwrap();
        let plan = asked.plan::<Session>(None, user.as_str(), Some(password(at(1))), None, at(1));
        match plan.unwrap() {
            SessionPlan::Start {
                expires_at,
                custom_claims,
                ..
            } => {
                assert_eq!(expires_at, at(1 + 3600));
                // Registered JWT claims are ignored, as Stytch documents.
                assert_eq!(Value::Object(custom_claims), json!({"team": "a"}));
            }
            other => panic!("unexpected {other:?}"),
        }
        let no_factor = asked.plan::<Session>(None, user.as_str(), None, None, at(1));
        assert_eq!(no_factor.unwrap(), SessionPlan::None);

        let default = none.plan::<Session>(
            None,
            user.as_str(),
            Some(password(at(1))),
            Some(Duration::minutes(60)),
            at(1),
        );
        assert!(matches!(default.unwrap(), SessionPlan::Start { .. }));
    }

    #[test]
    fn a_presented_session_is_extended_or_gets_the_new_factor() {
        let user = UserId::generate(Environment::Test);
        let claims = Some(json!({"a": 1}));
        let options = request(Some("t"), None, Some(10), claims).unwrap();
        let plan = options.plan(Some(session(&user)), user.as_str(), None, None, at(5));
        let SessionPlan::Extend(extended) = plan.unwrap() else {
            panic!("expected an extension")
        };
        assert_eq!(extended.last_accessed_at, at(5));
        assert_eq!(extended.expires_at, at(5 + 600));
        assert_eq!(extended.custom_claims["a"], json!(1));
        assert_eq!(extended.authentication_factors.len(), 1);

        let keep = request(Some("t"), None, None, None).unwrap();
        let plan = keep.plan(
            Some(session(&user)),
            user.as_str(),
            Some(password(at(5))),
            None,
            at(5),
        );
        let SessionPlan::Attach(attached) = plan.unwrap() else {
            panic!("expected an attached factor")
        };
        assert_eq!(
            attached.expires_at,
            at(3600),
            "no duration: the expiry stays"
        );
        assert_eq!(attached.authentication_factors.len(), 2);
    }

    #[test]
    fn another_owners_session_is_not_found() {
        let user = UserId::generate(Environment::Test);
        let other = UserId::generate(Environment::Test);
        let options = request(Some("t"), None, None, None).unwrap();
        let plan = options.plan(Some(session(&other)), user.as_str(), None, None, at(5));
        assert_eq!(plan.unwrap_err(), SessionProblem::NotFound);
    }

    /// A primary factor where the organization requires MFA stops short at an intermediate
    /// session; a second factor, or an organization that does not require it, gets the session.
    #[test]
    fn a_primary_factor_stops_short_while_mfa_is_owed() {
        let member = "member-test-00000000-0000-0000-0000-000000000001";
        let totp = AuthenticationFactor::totp("totp-1".to_owned(), at(0));
        let primary = password(at(0));
        assert!(mfa_owed(true, std::slice::from_ref(&primary)));
        assert!(!mfa_owed(true, &[primary.clone(), totp.clone()]));
        assert!(!mfa_owed(false, std::slice::from_ref(&primary)));
        let options = request(None, None, Some(60), None).unwrap();
        let plan = |factor: AuthenticationFactor| {
            options
                .plan::<Session>(None, member, Some(factor.clone()), None, at(0))
                .unwrap()
                .short_of_mfa(mfa_owed(true, &[factor]))
        };
        assert_eq!(
            plan(primary.clone()),
            SessionPlan::Intermediate { factor: primary }
        );
        assert!(matches!(plan(totp), SessionPlan::Start { .. }));
    }
}
