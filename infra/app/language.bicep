// The optional secondary Language resource, created in a region where custom NER and custom text classification
// authoring exist, with a custom subdomain (Entra ID needs it), a system-assigned identity and its own linked
// documents storage account in the same region: a Language resource reads documents only from its linked account.

param name string
param location string
param tags object = {}

@description('Custom subdomain: <subdomain>.cognitiveservices.azure.com. Entra ID tokens are refused on regional endpoints.')
param customSubDomainName string = name

@description('S (Standard) is the tier that offers custom NER and custom text classification.')
param skuName string = 'S'

@description('Name of the documents storage account linked to the resource.')
@minLength(3)
@maxLength(24)
param documentsStorageName string

@description('Geo-redundant replication (RA-GRS) for the documents; LRS when false.')
param geoRedundant bool = true

@description('Turn off key authentication: callers must use Entra ID (the app\'s managed identity).')
param disableLocalAuth bool = true

resource documentsStorage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  // checkov:skip=CKV_AZURE_206: replication is the geoRedundant parameter (RA-GRS by default), which checkov cannot evaluate.
  // checkov:skip=CKV_AZURE_43: the name is a parameter (generated lowercase, 3-24 characters) that checkov cannot evaluate.
  // checkov:skip=CKV_AZURE_35: the Language service and the app (no VNet) read over the public endpoint; access is Entra ID only.
  // checkov:skip=CKV_AZURE_59: same reason: public network access is needed without a VNet; no key or anonymous access is possible.
  name: documentsStorageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: geoRedundant ? 'Standard_RAGRS' : 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource documentsBlobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: documentsStorage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource language 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  // checkov:skip=CKV_AZURE_134: prediction callers fail over to this resource from outside any VNet.
  // checkov:skip=CKV_AZURE_236: key authentication stays possible when the deployment chooses keys (useLanguageKeys); disableLocalAuth follows it.
  name: name
  location: location
  tags: tags
  kind: 'TextAnalytics'
  sku: {
    name: skuName
  }
  identity: {
    type: 'SystemAssigned'
  }
  properties: {
    customSubDomainName: customSubDomainName
    disableLocalAuth: disableLocalAuth
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
    }
    // The linked storage account custom text projects read their documents from.
    userOwnedStorage: [
      {
        resourceId: documentsStorage.id
      }
    ]
  }
}

output id string = language.id
output name string = language.name
output endpoint string = language.properties.endpoint
output principalId string = language.identity.principalId
output documentsStorageId string = documentsStorage.id
output documentsStorageName string = documentsStorage.name
output documentsBlobEndpoint string = documentsStorage.properties.primaryEndpoints.blob
