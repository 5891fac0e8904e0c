//! A JSON body extractor whose rejections are the API's own JSON errors.

use axum::{
    Json,
    extract::{FromRequest, Request, rejection::JsonRejection},
};
use makonis_catalog::FieldError;
use serde::de::DeserializeOwned;

use crate::web::error::WebError;

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
        match Json::<T>::from_request(request, state).await {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(WebError::Invalid(vec![FieldError::new(
                "",
                "send the body as JSON (Content-Type: application/json)",
            )])),
            Err(rejection) => Err(WebError::Invalid(vec![FieldError::new("", rejection.body_text())])),
        }
    }
}
