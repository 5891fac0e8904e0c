//! Browsing the catalog: the list (by category, searchable) and an item's page with its
//! plans side by side.

use std::sync::Arc;

use axum::{
    extract::{Path, Query, State},
    http::StatusCode,
    response::Response,
};
use makonis_api::catalog::{CatalogItem, Category};
use serde::{Deserialize, Serialize};
use tera::Context as TeraContext;

use super::see_other;
use crate::web::{AppState, error::WebError, viewer::Viewer};

/// Every category, in the order the catalog shows them.
pub const CATEGORIES: [Category; 5] =
    [Category::Applications, Category::Databases, Category::WebHosting, Category::OpenData, Category::Compute];

/// A category's name as the CRD spells it.
pub fn category_name(category: Category) -> &'static str {
    match category {
        Category::Applications => "Applications",
        Category::Databases => "Databases",
        Category::WebHosting => "WebHosting",
        Category::OpenData => "OpenData",
        Category::Compute => "Compute",
    }
}

/// An item as the catalog list shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    /// The item's name (its URL).
    pub name: String,
    /// Title per language.
    pub title: makonis_api::catalog::LocalizedTitle,
    /// Description per language.
    pub description: makonis_api::catalog::LocalizedText,
    /// Category name.
    pub category: &'static str,
    /// Tags.
    pub tags: Vec<String>,
    /// The cheapest plan's monthly price in euro.
    pub price_from: String,
    /// How many plans.
    pub plans: usize,
}

impl ItemSummary {
    /// The summary of `item`.
    pub fn of(item: &CatalogItem) -> Self {
        let spec = &item.spec;
        let price_from = spec
            .plans
            .iter()
            .map(|p| p.monthly_price_eur.as_str())
            .min_by(|a, b| a.parse::<f64>().unwrap_or(f64::MAX).total_cmp(&b.parse::<f64>().unwrap_or(f64::MAX)))
            .unwrap_or("0")
            .to_string();
        Self {
            name: item.metadata.name.clone().unwrap_or_default(),
            title: spec.title.clone(),
            description: spec.description.clone(),
            category: category_name(spec.category),
            tags: spec.tags.clone(),
            price_from,
            plans: spec.plans.len(),
        }
    }

    /// Whether the item matches every word of `query` (case-insensitive, in either
    /// language, its name, description or tags).
    pub fn matches(&self, query: &str) -> bool {
        let haystack = format!(
            "{} {} {} {} {} {}",
            self.name,
            self.title.lv,
            self.title.en,
            self.description.lv,
            self.description.en,
            self.tags.join(" ")
        )
        .to_lowercase();
        query.split_whitespace().all(|word| haystack.contains(&word.to_lowercase()))
    }
}

/// The catalog's filters.
#[derive(Debug, Default, Deserialize)]
pub struct Filter {
    q: Option<String>,
    category: Option<String>,
}

/// `GET /`: the catalog is the home page.
pub async fn home() -> Response {
    see_other("/catalog")
}

/// The items matching `filter`, as summaries.
pub fn summaries(items: &[Arc<CatalogItem>], query: &str, category: &str) -> Vec<ItemSummary> {
    items
        .iter()
        .map(|item| ItemSummary::of(item))
        .filter(|s| category.is_empty() || s.category == category)
        .filter(|s| query.trim().is_empty() || s.matches(query))
        .collect()
}

/// `GET /catalog`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(filter): Query<Filter>,
) -> Result<Response, WebError> {
    viewer.signed_in()?;
    let query: String = filter.q.unwrap_or_default().chars().take(200).collect();
    let category = filter.category.unwrap_or_default();
    let category = if CATEGORIES.iter().any(|c| category_name(*c) == category) { category } else { String::new() };
    let items = summaries(&state.context.view.items(), &query, &category);
    let groups: Vec<_> = CATEGORIES
        .iter()
        .map(|c| category_name(*c))
        .filter_map(|name| {
            let members: Vec<_> = items.iter().filter(|i| i.category == name).collect();
            (!members.is_empty()).then(|| serde_json::json!({"category": name, "items": members}))
        })
        .collect();
    let mut context = TeraContext::new();
    context.insert("groups", &groups);
    context.insert("count", &items.len());
    context.insert("q", &query);
    context.insert("category", &category);
    context.insert("categories", &CATEGORIES.iter().map(|c| category_name(*c)).collect::<Vec<_>>());
    Ok(state.templates.page(&viewer, StatusCode::OK, "catalog.html", context))
}

/// `GET /catalog/{item}`.
pub async fn item(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, WebError> {
    let actor = viewer.signed_in()?;
    let item = state.context.view.item(&name).ok_or(WebError::NotFound)?;
    let orderable = matches!(state.context.view.compiled(&name), Some(Ok(_)));
    let mut context = TeraContext::new();
    context.insert("item", &ItemSummary::of(&item));
    context.insert("plans", &item.spec.plans);
    context.insert("owner", &item.spec.owner);
    context.insert("version", &item.spec.version);
    context.insert("approval", &item.spec.approval);
    context.insert("retained", &item.spec.retain_on_retire);
    context.insert("orderable", &orderable);
    context.insert("may_order", &!actor.access.ordering_agencies().is_empty());
    Ok(state.templates.page(&viewer, StatusCode::OK, "item.html", context))
}
