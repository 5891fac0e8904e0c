//! A JSON body extractor whose rejections are the API's own JSON errors. The body of an
//! anonymous call is not even read: it is refused as unauthenticated first.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
    http::StatusCode,
};
use makonis_catalog::FieldError;
use serde::de::DeserializeOwned;

use crate::web::{error::WebError, viewer::Viewer};

/// Like `Json<T>`, but a body that is not valid JSON, has the wrong types or unknown
/// fields is answered with `422 invalid` and the parser's message.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = WebError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let signed_in = request.extensions().get::<Viewer>().is_some_and(|viewer| viewer.actor.is_some());
        if !signed_in {
            return Err(WebError::SignIn);
        }
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(WebError::TooLarge),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(WebError::Invalid(vec![FieldError::new(
                "",
                "send the body as JSON (Content-Type: application/json)",
            )])),
            Err(rejection) => Err(WebError::Invalid(vec![FieldError::new("", rejection.body_text())])),
        }
    }
}
