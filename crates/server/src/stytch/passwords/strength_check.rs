//! `POST /v1/passwords/strength_check`: rate a password under the project's policy.

use super::*;

#[derive(Debug, Deserialize, ToSchema)]
pub struct StrengthCheckRequest {
    password: Option<String>,
    email: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct StrengthCheckResponse {
    valid_password: bool,
    /// zxcvbn's score, 0 to 4.
    score: u8,
    /// Always `false`: Latchkey checks no breach corpus.
    breached_password: bool,
    /// `zxcvbn` or `luds`.
    strength_policy: String,
    breach_detection_on_create: bool,
    feedback: StrengthFeedback,
}

#[derive(Serialize, ToSchema)]
pub struct StrengthFeedback {
    warning: String,
    suggestions: Vec<String>,
    luds_requirements: LudsRequirements,
}

#[derive(Serialize, ToSchema)]
pub struct LudsRequirements {
    has_lower_case: bool,
    has_upper_case: bool,
    has_digit: bool,
    has_symbol: bool,
    missing_complexity: u32,
    missing_characters: u32,
}

impl StrengthCheckResponse {
    fn new(rated: &Strength) -> StrengthCheckResponse {
        StrengthCheckResponse {
            valid_password: rated.valid_password,
            score: rated.score,
            breached_password: false,
            strength_policy: rated.strength_policy.to_string(),
            breach_detection_on_create: false,
            feedback: StrengthFeedback {
                warning: rated.warning.clone(),
                suggestions: rated.suggestions.clone(),
                luds_requirements: LudsRequirements {
                    has_lower_case: rated.luds.has_lower_case,
                    has_upper_case: rated.luds.has_upper_case,
                    has_digit: rated.luds.has_digit,
                    has_symbol: rated.luds.has_symbol,
                    missing_complexity: rated.luds.missing_complexity,
                    missing_characters: rated.luds.missing_characters,
                },
            },
        }
    }
}

/// Rate a password under the project's policy (zxcvbn or LUDS), with feedback.
#[utoipa::path(post, path = "/v1/passwords/strength_check", tag = "passwords",
    operation_id = "passwords.strength_check", request_body = StrengthCheckRequest,
    responses((status = 200, description = "The rating.", body = Envelope<StrengthCheckResponse>)))]
pub(super) async fn strength_check(
    State(state): State<AppState>,
    auth: Authenticated,
    JsonBody(request): JsonBody<StrengthCheckRequest>,
) -> Result<Response, ApiError> {
    let password = required_password("password", request.password)?;
    let email = given(request.email)
        .map(|email| Email::parse(&email))
        .transpose()?;
    let rated = rate(
        &state,
        &auth.project,
        &password,
        email.as_ref().map(Email::as_str),
    )
    .await?;
    Ok(reply(
        &auth.request_id,
        StatusCode::OK,
        StrengthCheckResponse::new(&rated),
    ))
}
